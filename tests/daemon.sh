#!/usr/bin/env bash
# heapwatchd against real Go services on loopback: snapshots land and
# pprof reads them; dead, hung and garbage-serving targets show down with
# their reason while the others keep their schedule; the configuration is
# checked with file:line:col; SIGHUP reloads both ways; SIGTERM stops; and
# a restart rebuilds the window from the store (tests/storage.sh kills it).
. "$(dirname "$0")/lib.sh"

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
store=$TMPD/store

write_config() {	# write_config FILE [extra targets...]
	{ config_head 3s 2s; cat <<YAML; } >"$1"
  - name: shapes
    url: $F/debug/pprof/heap
    labels: {team: payments}
  - name: goroutines
    url: $F/debug/pprof/goroutine
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
  - name: hung
    url: $F/bad/hang
  - name: garbage
    url: $F/bad/garbage
  - name: html
    url: $F/bad/html
  - name: status
    url: $F/bad/status
  - name: mutex
    url: $F/debug/pprof/mutex
YAML
}

conf=$TMPD/heapwatchd.yaml
write_config "$conf"
"$HEAPWATCHD" -t -c "$conf" >"$TMPD/out" 2>&1
ok $? "heapwatchd -t accepts the configuration"

# A broken file is refused with file:line:col.
cat >"$TMPD/broken.yaml" <<YAML
listen: 127.0.0.1:$HWD_PORT
defaults:
  interva: 1s
targets:
  - name: ../etc
    url: $F/debug/pprof/heap
YAML
"$HEAPWATCHD" -t -c "$TMPD/broken.yaml" >"$TMPD/out" 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "broken.yaml:3:3: unknown key \"interva\"" "$TMPD/out" &&
    grep -q "broken.yaml:5:[0-9]*: .*name" "$TMPD/out"
ok $? "heapwatchd -t refuses a broken file with file:line:col (exit $rc)"
diag <"$TMPD/out"

daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }
ok 0 "heapwatchd starts and is ready"

# Checks evaluated afresh at each try of wait_for.
has_snapshots() { [ "$(target_field "$1" snapshots)" -ge "$2" ] 2>/dev/null; }
has_health() { [ "$(target_field "$1" health)" = "$2" ]; }
is_listed() { [ "$(target_field "$1" name)" = "$1" ]; }
reload_ok() {
	curl -fs "$HWD_URL/metrics" |
	    grep -q "^heapwatch_config_last_reload_successful $1\$"
}

wait_for 60 has_snapshots shapes 3
ok $? "snapshots of the heap target land"
# Up by its last scrape: on a busy machine one can time out between, and
# the target is down until the next.
is_up() { [ "$(target_field "$1" health)" = up ]; }
wait_for 30 is_up shapes
ok $? "the heap target is up"
wait_for 30 is_up goroutines
ok $? "the goroutine target is up"

id=$(curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq -r '.[-1].id')
curl -fs -o "$TMPD/snap.pb.gz" "$HWD_URL/api/v1/targets/shapes/snapshots/$id"
go tool pprof -top "$TMPD/snap.pb.gz" 2>&1 | grep -q "main.recurse"
ok $? "go tool pprof reads a stored snapshot served by the API"
if [ "$STORAGE_FORMAT" = pack ]; then
	# Packed: served as heapwatch export writes it out of the store.
	"$HEAPWATCH" export "$store/shapes" "$id" >"$TMPD/export.pb.gz" &&
	    cmp -s "$TMPD/snap.pb.gz" "$TMPD/export.pb.gz" &&
	    [ ! -e "$store/shapes/$id.pb.gz" ] &&
	    [ -f "$store/shapes/snapshots.db" ]
	ok $? "the snapshot is served from the target's database"
else
	cmp -s "$TMPD/snap.pb.gz" "$store/shapes/$id.pb.gz"
	ok $? "the snapshot is served as received"
fi

wait_for 60 has_health hung down
ok $? "a hung target is down"
target_field hung last_error | grep -qi "timed out\|timeout"
ok $? "... because it timed out: $(target_field hung last_error)"
target_field dead last_error | grep -q "connect.* (Connection refused)$"
ok $? "a dead target is down because the connection was refused"
target_field garbage last_error | grep -q "invalid profile"
ok $? "a garbage-serving target is down: $(target_field garbage last_error)"
want='invalid profile: an HTML page, not a pprof profile'
want+=' (Content-Type text/html; charset=utf-8): "<html><body>404 page'
target_field html last_error | grep -Fq "$want"
ok $? "an HTML page is not a profile: $(target_field html last_error)"
target_field status last_error | grep -q "HTTP status 500"
ok $? "an HTTP 500 is reported as such"
target_field mutex last_error | grep -q "not a heap profile"
ok $? "a profile of the wrong kind is down: $(target_field mutex last_error)"
[ "$(target_field garbage snapshots)" = 0 ] && [ "$(target_field mutex snapshots)" = 0 ]
ok $? "nothing invalid is stored"

# The good target keeps its schedule while the others fail: the median
# gap between its newest snapshots is about 1 s, not a backed-off 2 s or
# more. (A snapshot's time is when its scrape ended, so a single gap
# varies with the machine's load; their median hardly does.)
n1=$(target_field shapes snapshots)
wait_for 60 has_snapshots shapes $((n1 + 7))
gap=$(curl -fs --max-time 5 "$HWD_URL/api/v1/targets/shapes/snapshots" | jq '
    [.[-8:][] | .id | capture("^(?<t>[0-9]+)").t | tonumber] |
    [range(1; length) as $i | .[$i] - .[$i - 1]] | sort | .[length / 2 | floor]')
[ "${gap:-0}" -gt 0 ] && [ "$gap" -lt 1500 ]
ok $? "the heap target keeps its 1 s schedule (median gap $gap ms)"

curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
grep -q '^heapwatch_target_up{target="shapes",team="payments"} 1$' "$TMPD/metrics" &&
    grep -q '^heapwatch_target_up{target="dead"} 0$' "$TMPD/metrics" &&
    grep -q '^heapwatch_heap_inuse_bytes{target="shapes",team="payments"} [0-9]' "$TMPD/metrics" &&
    grep -q '^heapwatch_goroutines{target="goroutines"} [0-9]' "$TMPD/metrics" &&
    grep -q '^heapwatch_scrapes_total{target="hung",result="failed"} [1-9]' "$TMPD/metrics"
ok $? "/metrics has every target's series"

# What the snapshots take on disk: the API and /metrics say what the
# folder holds, its snapshot files or its database's, when no put came
# between the API's two answers.
disk_bytes() {	# disk_bytes TARGET
	find "$store/$1" -maxdepth 1 -type f \( -name '*.pb.gz' -o \
	    -name 'snapshots.db*' \) -printf '%s\n' |
	    awk '{n += $1} END {print n + 0}'
}
bytes_agree() {
	local a m d b
	a=$(target_field shapes store_bytes)
	m=$(curl -fs --max-time 5 "$HWD_URL/metrics" |
	    sed -n 's/^heapwatch_store_bytes{target="shapes",team="payments"} //p')
	d=$(disk_bytes shapes)
	b=$(target_field shapes store_bytes)
	echo "$a $m $d $b" >"$TMPD/bytes"
	[ "$a" = "$b" ] && [ "$a" = "$m" ] && [ "$a" = "$d" ] &&
	    [ "$a" -gt 0 ] 2>/dev/null
}
wait_for 60 bytes_agree
ok $? "store_bytes is what the snapshots take on disk (API, metric, folder, API: $(cat "$TMPD/bytes"))"
[ "$(target_field garbage store_bytes)" = 0 ]
ok $? "... and 0 for a target with none"

# Memory holds the window's summaries, not the history.
w=$(sed -n 's/^heapwatch_window_snapshots{target="shapes",team="payments"} //p' "$TMPD/metrics")
n=$(target_field shapes snapshots)
[ "${w:-99}" -le 5 ] && [ "$n" -ge $((w + 2)) ]
ok $? "the 3 s window keeps $w summaries in memory of $n snapshots"

curl -fs "$HWD_URL/api/v1/targets/shapes/diff" | jq -e '.total >= 0 and (.base | length) > 0' >/dev/null
ok $? "/diff of the two newest snapshots answers pprof's JSON"

# Names and ids in URLs reach nothing outside the store.
for path in /api/v1/targets/nope/snapshots /api/v1/targets/../snapshots \
    /api/v1/targets/shapes/snapshots/..%2f..%2fetc%2fpasswd \
    /api/v1/targets/shapes/snapshots/%2e%2e /api/v1/targets/shapes/snapshots/1 \
    "/api/v1/targets/shapes%2f..%2f/snapshots"; do
	code=$(curl -s -o "$TMPD/body" -w '%{http_code}' --path-as-is "$HWD_URL$path")
	case $code in 4??) ok 0 "$path: $code" ;; *) ok 1 "$path: $code" ;; esac
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$HWD_URL/metrics")
[ "$code" = 405 ]
ok $? "POST /metrics is 405"

# Reload: a target added, one removed, the unchanged keeps its state.
before=$(curl -fs "$HWD_URL/metrics" | sed -n 's/^heapwatch_scrapes_total{target="shapes",team="payments",result="success"} //p')
write_config "$conf"
sed -i '/name: status/,+1d' "$conf"
cat >>"$conf" <<YAML
  - name: shapes2
    url: $F/debug/pprof/heap
YAML
kill -HUP "$HWD_PID"
wait_for 30 is_listed shapes2
ok $? "SIGHUP adds a target"
[ -z "$(target_field status name)" ]
ok $? "... and removes one"
after=$(curl -fs "$HWD_URL/metrics" | sed -n 's/^heapwatch_scrapes_total{target="shapes",team="payments",result="success"} //p')
[ "$after" -ge "$before" ] && [ "$before" -gt 0 ]
ok $? "... and the unchanged target keeps its counters ($before, then $after)"

# A broken file on reload: refused, the old configuration stays.
cp "$conf" "$TMPD/good.yaml"
echo "  - name: [broken" >>"$conf"
curl -s -o "$TMPD/body" -w '%{http_code}' -X POST "$HWD_URL/-/reload" >"$TMPD/code"
[ "$(cat "$TMPD/code")" = 500 ]
ok $? "POST /-/reload with a broken file answers 500"
# Its body says why, as the log does: the file, the line, the error.
grep -q "^failed to reload config: $conf:[0-9]*:[0-9]*: .*syntax error" \
    "$TMPD/body"
ok $? "... saying why: $(head -c 200 "$TMPD/body")"
reload_ok 0
ok $? "... and /metrics says the reload failed"
[ "$(target_field shapes2 health)" != "" ]
ok $? "... and the old targets stay"
cp "$TMPD/good.yaml" "$conf"
kill -HUP "$HWD_PID"
wait_for 30 reload_ok 1
ok $? "a good file reloads again"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"

# After a restart the window is rebuilt from the store: the values are
# there before the first scrape, which an hour's interval puts far off.
sed 's/interval: 1s/interval: 1h/; s/timeout: 500ms/timeout: 10s/; s/window: 3s/window: 2h/; s/for: 2s/for: 1h/' \
    "$conf" >"$TMPD/slow.yaml"
daemon_start "$TMPD/slow.yaml"
curl -fs "$HWD_URL/metrics" | grep -q '^heapwatch_heap_inuse_bytes{target="shapes",team="payments"} [1-9]'
ok $? "after a restart, the last values come from the stored snapshots"
[ "$(target_field shapes store_bytes)" = "$(disk_bytes shapes)" ]
ok $? "... and what they take on disk ($(disk_bytes shapes) bytes)"
kill -TERM "$HWD_PID"
wait "$HWD_PID"

done_testing
