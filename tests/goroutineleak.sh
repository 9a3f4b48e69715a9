#!/usr/bin/env bash
# Go's goroutine leak profile: a target whose URL is
# /debug/pprof/goroutineleak is judged by it. Its goroutines are the ones
# Go's GC proved blocked forever, so the alert fires at the first profile
# that has any, without waiting for a trend or `for`, and names the
# function each leaked goroutine runs. The fixture writes the profile
# itself (the Go here predates it): a goroutine profile whose sample type
# is goroutineleak, holding only the goroutines it leaked.
. "$(dirname "$0")/lib.sh"

fixture_start goroutine-leak || { ok 1 "fixture goroutine-leak starts"; done_testing; exit; }
leak=$FIXTURE_URL
fixture_start churn || { ok 1 "fixture churn starts"; done_testing; exit; }
churn=$FIXTURE_URL

# The fixture's profile is one go tool pprof reads, and heapwatch agrees.
# The first goroutine leaks 200 ms after start: on a busy machine, later.
for _ in $(seq 100); do
	fetch "$leak/debug/pprof/goroutineleak" "$TMPD/leak.pb.gz" &&
	    "$top_builddir/heapwatch" top --json "$TMPD/leak.pb.gz" |
	    jq -e '.total > 0' >/dev/null 2>&1 && break
	sleep 0.1
done
[ -s "$TMPD/leak.pb.gz" ]
ok $? "the fixture serves /debug/pprof/goroutineleak"
go tool pprof -top "$TMPD/leak.pb.gz" >"$TMPD/pprof.top" 2>/dev/null
grep -q '^Type: goroutineleak$' "$TMPD/pprof.top" &&
    grep -q ' main.leakWorker.func1$' "$TMPD/pprof.top"
ok $? "go tool pprof reads it as a goroutineleak profile through main.leakWorker.func1"
"$top_builddir/heapwatch" top "$TMPD/leak.pb.gz" >"$TMPD/hw.top"
grep -v '^Main binary filename not available.$' "$TMPD/pprof.top" |
    cmp -s - "$TMPD/hw.top"
ok $? "heapwatch top prints what go tool pprof -top prints for it"
fetch "$churn/debug/pprof/goroutineleak" "$TMPD/none.pb.gz"
"$top_builddir/heapwatch" top --json "$TMPD/none.pb.gz" >"$TMPD/none.json"
[ -s "$TMPD/none.json" ] && jq -e '.total == 0' "$TMPD/none.json" >/dev/null
ok $? "a service that leaked nothing serves an empty one"

# A `for` far longer than the test: only a leak profile can fire in time.
{
	config_head 10m 10m
	cat <<YAML
  - name: leaks
    url: $leak/debug/pprof/goroutineleak
    source_path: $top_srcdir/tests/fixture
  - name: clean
    url: $churn/debug/pprof/goroutineleak
YAML
} >"$TMPD/hw.yaml"
"$HEAPWATCHD" -t -c "$TMPD/hw.yaml" >/dev/null 2>&1
ok $? "heapwatchd -t takes a goroutineleak target"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
[ "$(target_field leaks kind)" = goroutineleak ]
ok $? "the API gives the target's kind as goroutineleak"

firing() { [ "$(target_field leaks alert)" = firing ]; }
wait_for 60 firing
ok $? "the leak profile's target fires, long before its for of 10m"
curl -fs "$HWD_URL/api/v1/alerts" >"$TMPD/alerts.json"
curl -fs "$HWD_URL/api/v1/targets/leaks/snapshots" >"$TMPD/snaps.json"
jq -e --slurpfile s "$TMPD/snaps.json" '.[] | select(.target == "leaks") |
    .since <= ($s[0] | sort_by(.time) | .[1].time // .[0].time)' \
    "$TMPD/alerts.json" >/dev/null
ok $? "... at its first or second snapshot: no trend is waited for"
jq -e '.[] | select(.target == "leaks") | .top[0].function == "main.leakWorker.func1" and .growth > 0' \
    "$TMPD/alerts.json" >/dev/null
ok $? "the alert names main.leakWorker.func1, the function the goroutines run"
jq -c '.[] | select(.target == "leaks")' "$TMPD/alerts.json" | diag
grep -q 'leaks:   main.leakWorker.func1 +[0-9]* at .*tests/fixture/main.go:[0-9]' "$TMPD/heapwatchd.log"
ok $? "the log gives its file and line"

# Its evidence is the dump of every goroutine, from /debug/pprof/goroutine.
evidence() {
	ev=$(curl -fs --max-time 30 "$HWD_URL/api/v1/alerts" |
	    jq -r '.[] | select(.target == "leaks") | .evidence // empty')
	[ -n "$ev" ]
}
wait_for 60 evidence
case $ev in
/api/v1/targets/leaks/evidence/[0-9]*.txt) ok 0 "the alert links its evidence ($ev)" ;;
*) ok 1 "the alert links its evidence ($ev)" ;;
esac
fetch "$HWD_URL$ev" "$TMPD/dump.txt" &&
    grep -q '^goroutine [0-9]* \[chan receive' "$TMPD/dump.txt" &&
    grep -q 'main.leakWorker.func1' "$TMPD/dump.txt"
ok $? "the evidence is the goroutine?debug=2 dump with the leaked stacks"

# Five scrapes of the clean target's empty leak profile: still inactive.
scraped() { [ "$(target_field clean snapshots)" -ge 5 ] 2>/dev/null; }
wait_for 60 scraped
[ "$(target_field clean alert)" = inactive ]
ok $? "a target whose leak profile is empty stays inactive"

curl -fs "$HWD_URL/targets/leaks" >"$TMPD/page.html"
grep -q '<h2>Leaked goroutines</h2>' "$TMPD/page.html" &&
    grep -q '<code>main.leakWorker.func1</code></a>' "$TMPD/page.html"
ok $? "the target's page charts leaked goroutines and names the function"

# Its line view lists the newest profile's goroutines by line: the
# receive each one is blocked in, with its text from source_path.
curl -fs "$HWD_URL/targets/leaks/list?fn=main.leakWorker.func1" >"$TMPD/lines.html"
line=$(grep -n '^		<-abandoned$' "$top_srcdir/tests/fixture/main.go" | cut -d: -f1)
grep -q "<tr class=\"hot\" [^>]*><td class=\"n\">$line</td><td class=\"n\">+0</td><td class=\"n\">+[1-9][0-9]*</td><td><pre>		&lt;-abandoned</pre>" \
    "$TMPD/lines.html" && grep -q 'values (goroutineleak) in snapshot' "$TMPD/lines.html"
ok $? "the line view shows the leaked goroutines at line $line, <-abandoned"

kill -TERM "$HWD_PID"
wait "$HWD_PID"

# heapwatch judge replays the stored leak profiles to the same verdict.
"$top_builddir/heapwatch" judge --json --window 10m --for 10m \
    "$TMPD/store/leaks" >"$TMPD/judge.json"
# (jq 1.6 -e passes on empty input: the file must not be.)
[ -s "$TMPD/judge.json" ] && jq -e '.kind == "goroutineleak" and .state == "firing" and
    .top[0].function == "main.leakWorker.func1"' "$TMPD/judge.json" >/dev/null
ok $? "heapwatch judge on its snapshots fires too, naming main.leakWorker.func1"
jq -c '{kind, state, growth}' "$TMPD/judge.json" 2>/dev/null | diag
done_testing
