#!/usr/bin/env bash
# heapwatchd against targets that misbehave in every way tests/badtarget
# knows, and a closed port: each alone, every one is down with its own
# reason, counted under the right result, as often as the target saw it
# asked, while a good target keeps its schedule; then 1,000 targets at
# once, most of them bad, with the daemon's memory bounded and the good
# targets on time.
. "$(dirname "$0")/lib.sh"

# The bound on heapwatchd's peak RSS with 1,000 targets. It measured 50
# to 153 MiB, 207 MiB with two busy loops taking the machine's 2 cores
# (about 340 MiB with AddressSanitizer): some 40 MiB with every transfer
# in flight, and the bodies waiting to be decoded, up to one per target,
# of which the 81 gzip bombs take a MiB each.
RSS_MAX_MIB=320
ldd "$HEAPWATCHD" 2>/dev/null | grep -q libasan && RSS_MAX_MIB=1024

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
badtarget_start || { ok 1 "badtarget starts"; done_testing; exit; }
B=$STARTED_URL

# The misbehaviours: name, path, the result they count under, and a
# pattern their last_error must match.
cases=(
	"refused|-|failed|^Failed to connect to 127\.0\.0\.1 port 1 .* \\(Connection refused\\)$"
	"hang|/hang|failed|^Operation timed out after [0-9]+ milliseconds with 0 bytes received$"
	"drip|/drip|failed|^Operation timed out after [0-9]+ milliseconds with [1-9][0-9]* out of [0-9]+ bytes received$"
	"status|/status|failed|^HTTP status 500$"
	"redirect|/redirect|failed|^Maximum \(3\) redirects followed$"
	"html|/html|invalid|^invalid profile: an HTML page, not a pprof profile \(Content-Type text/html; charset=utf-8\): \"<!DOCTYPE html> <html><head><title>Login"
	"empty|/empty|failed|^empty response$"
	"garbage|/garbage|invalid|^invalid profile: not a pprof profile: neither gzip nor a valid protobuf message( \\(.+\\))?$"
	"truncated|/truncated|invalid|^invalid profile: truncated gzip data$"
	"bomb|/bomb|invalid|^invalid profile: not a pprof profile: malformed or truncated protobuf$"
	"fieldbomb|/fieldbomb|invalid|^invalid profile: decompressed profile exceeds the 256 MiB limit$"
	"capped|/profile|failed|^response larger than 1 KiB$"
	"badstring|/badindex/string|invalid|^invalid profile: function name: string index 99 out of range \(7 strings\)$"
	"badlocation|/badindex/location|invalid|^invalid profile: location id 99 of a sample not found$"
	"badfunction|/badindex/function|invalid|^invalid profile: location 1: line with unknown function id 99$"
)

# target NAME PATH: one target of a case, its requests counted
# by badtarget under NAME.
target() {
	local url
	case $2 in
	-) url="http://127.0.0.1:1/debug/pprof/heap" ;;
	*) url="$B$2?t=$1" ;;
	esac
	printf '  - name: %s\n    url: %s\n' "$1" "$url"
	case $1 in
	capped*) echo "    max_size: 1KiB" ;;
	redirect*) echo "    max_redirects: 3" ;;
	esac
}

# 1. Each alone, beside a good target and two good targets of badtarget's
# own (the profile capped is served, under the default cap, and a tiny
# profile whose broken copies are the bad index cases).
conf=$TMPD/alone.yaml
{
	config_head | sed 's/timeout: 500ms/timeout: 900ms/'
	for c in "${cases[@]}"; do
		IFS='|' read -r name path _ <<<"$c"
		target "$name" "$path"
	done
	printf '  - name: good\n    url: %s/debug/pprof/heap\n' "$F"
	printf '  - name: profile\n    url: %s/profile?t=profile\n' "$B"
	printf '  - name: tiny\n    url: %s/tiny?t=tiny\n' "$B"
} >"$conf"
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }

# Every target scraped and judged up or down (a bomb's body takes the
# decoder a while after its transfer), the good one three times.
all_scraped() {
	curl -fs --max-time 5 "$HWD_URL/api/v1/targets" | jq -e '
	    all(.[]; .last_scrape != null and .health != "unknown") and
	    all(.[] | select(.name == "good"); .snapshots >= 3)' >/dev/null
}
wait_for 120 all_scraped
ok $? "every target has been scraped"

curl -fs "$HWD_URL/api/v1/targets" >"$TMPD/targets.json"
curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
curl -fs "$B/hits" >"$TMPD/hits"
field() {	# field NAME FIELD
	jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2" "$TMPD/targets.json"
}
scrapes() {	# scrapes NAME RESULT
	sed -n "s/^heapwatch_scrapes_total{target=\"$1\",result=\"$2\"} //p" \
	    "$TMPD/metrics"
}
hits() {	# hits NAME
	awk -v n="$1" '$1 == n { print $2 }' "$TMPD/hits"
}

for c in "${cases[@]}"; do
	IFS='|' read -r name path result pattern <<<"$c"
	err=$(field "$name" last_error)
	[ "$(field "$name" health)" = down ] && [ "$(field "$name" snapshots)" = 0 ]
	ok $? "$name: down, nothing stored"
	grep -Eq -- "$pattern" <<<"$err"
	ok $? "$name: $err"
	n=$(scrapes "$name" "$result")
	others=0
	for r in success failed invalid not_stored; do
		[ "$r" = "$result" ] || others=$((others + $(scrapes "$name" "$r")))
	done
	[ "${n:-0}" -ge 1 ] && [ "$others" -eq 0 ]
	ok $? "$name: scrapes_total{result=\"$result\"} $n, the others $others"
	# What badtarget saw: one request per scrape (the one in flight,
	# maybe, not yet counted by heapwatchd); four per scrape that
	# follows three redirects.
	[ "$path" = - ] && continue
	h=$(hits "$name")
	per=1
	[ "$name" = redirect ] && per=4
	[ "${h:-0}" -ge $((n * per)) ] && [ "${h:-0}" -le $(((n + 1) * per)) ]
	ok $? "$name: badtarget saw ${h:-0} requests for $n scrapes"
done
# The good ones are never taken for bad: nothing refused, nothing skipped.
# (A machine too busy to answer within the 900 ms timeout may fail one
# scrape of theirs, which the bad targets beside them cannot cause.)
for name in good profile tiny; do
	[ "$(scrapes "$name" invalid)" = 0 ] && [ "$(scrapes "$name" not_stored)" = 0 ] &&
	    [ "$(scrapes "$name" skipped)" = 0 ] && [ "$(scrapes "$name" success)" -ge 1 ]
	ok $? "$name: $(scrapes "$name" success) stored, none refused or skipped ($(scrapes "$name" failed) failed)"
done

# The good target keeps its 1 s schedule.
t1=$(date +%s.%N)
n1=$(target_field good snapshots)
s1=$(target_field good last_scrape)
sleep 5
t2=$(date +%s.%N)
n2=$(target_field good snapshots)
s2=$(target_field good last_scrape)
d=$((n2 - n1))
[ "$d" -ge 4 ] && [ "$d" -le 6 ] && [[ "$s2" > "$s1" ]]
ok $? "the good target keeps its schedule: $d scrapes in $(printf '%.1f' "$(bc <<<"$t2 - $t1")") s, last at $s2"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops with status 0"

# 2. 1,000 at once: 900 bad targets, 63 of each case but 18 gzip bombs
# that parse (each costs the decoder 256 MiB of inflating), and 100 good
# ones served by badtarget (a real heap profile of its own, as bytes kept
# ready, so that the test measures heapwatchd, not how fast a Go service
# can write a hundred heap profiles every 3 s), every 3 s with a 2 s timeout, started with the
# soft limit of open files systemd gives a service (1024). The good ones
# come first and the bad ones join them by reload: at start-up no target
# is known to serve profiles, so a good one's first body would wait
# behind the bombs' for as long as the machine takes to inflate them.
interval=3
conf=$TMPD/many.yaml
{
	config_head | sed "s|^  path: .*|  path: $TMPD/store2|;
	    s/^  interval: .*/  interval: ${interval}s/; s/^  timeout: .*/  timeout: 2s/"
	for i in $(seq 1 100); do
		printf '  - name: good-%s\n    url: %s/profile?t=good-%s\n' "$i" "$B" "$i"
	done
} >"$conf"

ulimit -Sn 1024
start=$(date +%s)
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }
goods_up() {
	curl -fs --max-time 5 "$HWD_URL/api/v1/targets" | jq -e '
	    all(.[]; .health == "up")' >/dev/null
}
wait_for 120 goods_up
ok $? "the 100 good targets are up"
for c in "${cases[@]}"; do
	IFS='|' read -r name path _ <<<"$c"
	n=63
	[ "$name" = fieldbomb ] && n=18
	for i in $(seq 1 $n); do
		target "$name-$i" "$path"
	done
done >>"$conf"
ntargets=$(grep -c '^  - name:' "$conf")
[ "$ntargets" -eq 1000 ]
ok $? "the configuration has $ntargets targets"
kill -HUP "$HWD_PID"
reloaded() {
	[ "$(curl -fs --max-time 5 "$HWD_URL/api/v1/targets" | jq length)" = 1000 ]
}
wait_for 30 reloaded
ok $? "heapwatchd reloads with $ntargets targets"
read -r soft hard <<<"$(awk '/^Max open files/ { print $4, $5 }' \
    "/proc/$HWD_PID/limits")"
[ "$soft" = "$hard" ]
ok $? "heapwatchd raised its soft limit of open files from 1024 to $soft, the hard limit"

# Every target scraped once and found up or down.
all_scraped() {
	curl -fs --max-time 5 "$HWD_URL/api/v1/targets" | jq -e '
	    length == 1000 and
	    all(.[]; .last_scrape != null and .health != "unknown")' >/dev/null
}
wait_for 120 all_scraped
ok $? "within $(($(date +%s) - start)) s every target was scraped and found up or down"

# Over five intervals: the loop answers at once (were it decoding, a bomb
# would hold it for seconds), the good targets keep their schedule.
curl -fs "$HWD_URL/metrics" >"$TMPD/metrics1"
curl -fs "$HWD_URL/api/v1/targets" >"$TMPD/targets1.json"
t1=$(date +%s.%N)
slowest=0
for _ in $(seq 1 $((5 * interval))); do
	s=$(curl -fs -o /dev/null -w '%{time_total}' --max-time 10 "$HWD_URL/-/healthy")
	[ "$(bc <<<"${s:-10} > $slowest")" = 1 ] && slowest=$s
	sleep 1
done
curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
curl -fs "$HWD_URL/api/v1/targets" >"$TMPD/targets.json"
t2=$(date +%s.%N)
span=$(bc <<<"$t2 - $t1")
[ "$(bc <<<"$slowest < 2")" = 1 ]
ok $? "the loop stays free: the slowest of $((5 * interval)) /-/healthy took $slowest s"

successes() {	# successes METRICS-FILE: "TARGET COUNT" of the good ones
	sed -n 's/^heapwatch_scrapes_total{target="\(good-[0-9]*\)",result="success"} /\1 /p' "$1" | sort
}
successes "$TMPD/metrics1" >"$TMPD/s1"
successes "$TMPD/metrics" >"$TMPD/s2"
join "$TMPD/s1" "$TMPD/s2" | awk '{ print $3 - $2 }' | sort -n >"$TMPD/deltas"
# Counted as they end, a scrape that waited and those after it on time
# can put one or two more in the span. A machine too busy to answer in
# the 2 s timeout makes a good target fail and back off, which the bad
# targets cannot cause: every good one must make progress, none more
# often than its interval, and all of them together at least a third of
# their schedule (all of it on an idle machine).
want=$(printf '%.0f' "$(bc <<<"$span / $interval")")
min=$(head -n 1 "$TMPD/deltas")
max=$(tail -n 1 "$TMPD/deltas")
sum=$(awk '{ s += $1 } END { print s + 0 }' "$TMPD/deltas")
[ "$(wc -l <"$TMPD/deltas")" -eq 100 ] && [ "$min" -ge 1 ] &&
    [ "$max" -le $((want + 2)) ] && [ "$((3 * sum))" -ge $((100 * want)) ]
ok $? "every good target scraped $min to $max times in $(printf '%.1f' "$span") s, $sum in all, $want each by its ${interval} s interval"
[ "$((3 * sum))" -ge $((100 * want)) ] && [ "$min" -ge 1 ] || {
	diag "the good targets' errors and results:"
	jq -r '.[] | select(.name | startswith("good-")) | .last_error' \
	    "$TMPD/targets.json" | sort | uniq -c | head -n 5
	grep '^heapwatch_scrapes_total{target="good-[0-9]*"' "$TMPD/metrics" |
	    grep -v ' 0$' | sed 's/{target="good-[0-9]*",/{/' | sort |
	    uniq -c | sort -rn | head -n 8
} | sed 's/^/# /'
jq -e --slurpfile before "$TMPD/targets1.json" '
    [.[] | select(.name | startswith("good-"))] as $now |
    ($before[0] | map(select(.name | startswith("good-")) |
    {(.name): .last_scrape}) | add) as $was |
    all($now[]; .last_scrape > $was[.name])' \
    "$TMPD/targets.json" >/dev/null
ok $? "... and each one's last_scrape advanced"
# Not "skipped": on a loaded machine a good target's scrape or decoding
# may take longer than its interval, and the intervals it missed are
# counted so (tests/backlog.sh shows a good target is never skipped for
# the bombs' backlog itself).
bad=$(grep -c '^heapwatch_scrapes_total{target="good-[0-9]*",result="\(invalid\|not_stored\)"} [1-9]' "$TMPD/metrics")
[ "$bad" = 0 ]
ok $? "no good target's profile was ever refused or not stored ($bad)"

# A target that brings no body (refused, timed out, a bad status) is
# never counted invalid, nor skipped for the workers being behind: one
# whose bodies do not decode may be, while the workers are behind with
# the bombs: it pays for the backlog, not the others. Any of them may
# miss intervals, counted as skipped, while its scrape waits to start
# behind the bombs' bodies (a target not known to serve profiles waits
# once 8 MiB of bodies are fetched or waiting).
for c in "${cases[@]}"; do
	IFS='|' read -r name _ result pattern <<<"$c"
	n=$(jq --arg k "$name-" --arg p "$pattern" '[.[] |
	    select(.name | startswith($k))] | "\(length) \(map(select(
	    .health == "down" and .snapshots == 0 and
	    (.last_error | test($p)))) | length)"' -r "$TMPD/targets.json")
	counted=$(grep -c "^heapwatch_scrapes_total{target=\"$name-[0-9]*\",result=\"$result\"} [1-9]" "$TMPD/metrics")
	# A body the machine was too busy to send in time fails, as it should.
	allowed="$result\|skipped"
	[ "$result" = invalid ] && allowed="invalid\|skipped\|failed"
	wrong=$(grep "^heapwatch_scrapes_total{target=\"$name-[0-9]*\"," "$TMPD/metrics" |
	    grep -v "result=\"\($allowed\)\"" | grep -vc ' 0$')
	[ "${n% *}" -ge 18 ] && [ "${n% *}" = "${n#* }" ] &&
	    [ "$counted" = "${n% *}" ] && [ "$wrong" = 0 ]
	ok $? "$name: ${n#* } of ${n% *} down with their reason, $counted counted $result, $wrong otherwise"
done
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$HWD_PID/status")
fds=$(ls "/proc/$HWD_PID/fd" | wc -l)
echo "# peak RSS $hwm kB with $ntargets targets ($fds files open now)"
[ "$hwm" -lt $((RSS_MAX_MIB * 1024)) ]
ok $? "peak RSS $((hwm / 1024)) MiB, under $RSS_MAX_MIB MiB"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops with status 0 after $(($(date +%s) - start)) s"

done_testing
