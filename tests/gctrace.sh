#!/usr/bin/env bash
# gctrace against real Go services run with GODEBUG=gctrace=1, whose
# standard error a logger appends line by line to a file (opening it for
# each line, as loggers that rotate do): heapwatchd follows the file
# through rename-and-create rotation and copytruncate, counts every GC
# and the lines that are not GCs, exports the collector's metrics, and
# judges the live heap: a leaking service fires, on its live heap alone
# when it has no profile, and a churning one does not. A command source
# reads the same lines through tail -F, and a journal source the same
# lines again as systemd-journal-remote writes them to journal files.
. "$(dirname "$0")/lib.sh"

bin=$(fixture_bin) || { ok 1 "the fixture builds"; done_testing; exit; }

# run-gctrace LOG ALL BIN ARGS...: BIN with GODEBUG=gctrace=1, its standard
# error appended line by line to LOG, opened anew for each line, and to ALL,
# which is never rotated. While LOG.hold exists the logger holds the next
# line back (the service's writes wait in the pipe) and says so with
# LOG.held: the test then knows every line so far is in both files.
cat >"$TMPD/run-gctrace" <<'SH'
#!/usr/bin/env bash
log=$1 all=$2
shift 2
export GODEBUG=gctrace=1
exec "$@" 2> >(while IFS= read -r l; do
	if [ -e "$log.hold" ]; then
		: >"$log.held"
		while [ -e "$log.hold" ]; do sleep 0.05; done
		rm -f "$log.held"
	fi
	printf '%s\n' "$l" >>"$log"
	printf '%s\n' "$l" >>"$all"
done)
SH
chmod +x "$TMPD/run-gctrace"
gc=$TMPD/leak.log
serve_start "the leaking service" "$TMPD/run-gctrace" "$gc" "$TMPD/all.log" \
    "$bin" -listen 127.0.0.1:0 -mode leak ||
    { ok 1 "the leaking service starts"; done_testing; exit; }
LEAK=$STARTED_URL
LEAK_PID=$STARTED_PID
serve_start "the churning service" "$TMPD/run-gctrace" "$TMPD/churn.log" \
    /dev/null "$bin" -listen 127.0.0.1:0 -mode churn ||
    { ok 1 "the churning service starts"; done_testing; exit; }
CHURN=$STARTED_URL
wait_for 30 test -s "$gc"
ok $? "the services write gctrace lines"

# The journal of a unit "leak.service": the same lines, in journal export
# format, written by systemd-journal-remote into a folder.
remote=
for r in /lib/systemd/systemd-journal-remote \
    /usr/lib/systemd/systemd-journal-remote; do
	[ -x "$r" ] && remote=$r
done
mkdir -p "$TMPD/journal"
tail -n 0 -F "$TMPD/all.log" 2>/dev/null | while IFS= read -r l; do
	n=$((n + 1))
	printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%d\n' \
	    "${EPOCHREALTIME/./}" $((1000000 + n * 1000))
	printf '_BOOT_ID=5b1e0c7f3a9d4e6f8a2b1c0d9e8f7a6b\n'
	printf '_SYSTEMD_UNIT=leak.service\n_PID=4242\nMESSAGE=%s\n\n' "$l"
done | "${remote:-false}" --output="$TMPD/journal/remote.journal" - \
    >"$TMPD/remote.log" 2>&1 &
cleanup_hooks+=("pkill -f 'tail -n 0 -F $TMPD/all.log' 2>/dev/null")
[ -n "$remote" ]
ok $? "systemd-journal-remote is installed (tools/deps.sh)"

{ config_head 20s 10s; cat <<YAML; } >"$TMPD/hw.yaml"
  - name: leak
    url: $LEAK/debug/pprof/heap
    min_growth: 2MiB
    gctrace: {file: $gc}
  - name: alone
    min_growth: 2MiB
    gctrace: {file: $gc}
  - name: churn
    min_growth: 2MiB
    gctrace: {file: $TMPD/churn.log}
  - name: viacmd
    min_growth: 2MiB
    gctrace:
      command: [tail, -n, "0", -F, $gc]
  - name: journal
    min_growth: 2MiB
    gctrace: {journal_unit: leak, journal_directory: $TMPD/journal}
  - name: gor
    url: $CHURN/debug/pprof/goroutine
    gctrace: {file: $TMPD/gor.log}
YAML
"$HEAPWATCHD" -t -c "$TMPD/hw.yaml" >"$TMPD/out" 2>&1
ok $? "heapwatchd -t accepts gctrace targets"

# hold: the leaking service's logger stops between two lines (the service
# prints GCs four times a second); release: it goes on.
hold() {
	: >"$gc.hold"
	wait_for 60 test -e "$gc.held"
}
release() {
	rm -f "$gc.hold"
	wait_for 60 test ! -e "$gc.held"
}
gcs() { grep -c '^gc [0-9]* @' "$TMPD/all.log"; }
# The file is followed from its end, opened before heapwatchd is ready:
# with the logger held, the GCs counted are exactly those printed after
# "first". (Counted while the logger ran, a GC printed between heapwatchd's
# open and the count was counted by heapwatchd and not by the test.)
hold
ok $? "the logger can be held"
first=$(gcs)
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
release

metric() {	# metric NAME TARGET [EXTRA-LABELS]
	curl -fs --max-time 30 "$HWD_URL/metrics" |
	    awk -v s="$1{target=\"$2\"${3:+,$3}}" '$1 == s {print $2}'
}
cycles_over() { [ "$(metric heapwatch_gc_cycles_total "$1")" -gt "$2" ] 2>/dev/null; }
wait_for 30 cycles_over alone 2
ok $? "GCs are read from the file"
live=$(metric heapwatch_gc_live_heap_bytes alone)
goal=$(metric heapwatch_gc_heap_goal_bytes alone)
[ -n "$live" ] && [ $((live % 1048576)) -eq 0 ] && [ "$goal" -ge "$live" ]
ok $? "live heap $live and goal $goal bytes, in Go's whole MB"
pause=$(metric heapwatch_gc_pause_seconds_total alone)
cpu=$(metric heapwatch_gc_cpu_fraction alone)
awk -v p="$pause" -v c="$cpu" 'BEGIN { exit !(p > 0 && p < 1 && c >= 0 && c < 1) }'
ok $? "pause time ${pause}s and GC CPU fraction $cpu"
[ "$(target_field alone health)" = up ] && [ "$(target_field alone url)" = null ] &&
    [ "$(target_field alone gctrace.source)" = file ]
ok $? "a target with gctrace alone is up, without a url"
wait_for 30 cycles_over viacmd 2
ok $? "a command's output is read too"
wait_for 30 cycles_over journal 2
rc=$?
ok $rc "and a unit's journal"
if [ $rc -ne 0 ]; then
	curl -fs "$HWD_URL/api/v1/targets" | jq -c '.[] | select(.name == "journal")' | diag
	diag <"$TMPD/remote.log"; ls -la "$TMPD/journal" | diag
	grep journal "$TMPD/heapwatchd.log" | diag
fi
[ "$(target_field journal gctrace.source)" = journal ]
ok $? "... which /api/v1/targets names"

# Lines that are not GCs: counted, skipped.
echo "a line of the service's own" >>"$gc"
echo "gc 7 @1.5s 2%: 0.01+0.2" >>"$gc"
others() { [ "$(metric heapwatch_gctrace_lines_total alone 'result="other"')" -ge 1 ] &&
    [ "$(metric heapwatch_gctrace_lines_total alone 'result="malformed"')" -ge 1 ]; }
wait_for 30 others
ok $? "other output and a cut GC line are counted apart"

# Rename-and-create: the logger opens a new file at the next line.
mv "$gc" "$gc.1"
sleep 2
c=$(metric heapwatch_gc_cycles_total alone)
wait_for 30 cycles_over alone "$((c + 4))"
ok $? "GCs go on after rename-and-create rotation"
# caught_up: heapwatchd has read the file to its end, as written now; the
# logger is held, so that a marker line at the end is the last line.
others_over() {
	[ "$(metric heapwatch_gctrace_lines_total alone 'result="other"')" \
	    -gt "$1" ] 2>/dev/null
}
caught_up() {
	local o
	o=$(metric heapwatch_gctrace_lines_total alone 'result="other"')
	echo "heapwatch test: marker" >>"$gc"
	wait_for 60 others_over "$o"
}
rotations_over() { [ "$(target_field alone gctrace.rotations)" -gt "$1" ] 2>/dev/null; }
# copytruncate: the file is copied and emptied in place. What the logger
# writes between the copy and the truncation is lost to any follower, and
# what it writes after the truncation, before heapwatchd has looked, may
# pass heapwatchd's offset (then the truncation is not seen): the logger
# waits while the file is copied and until the truncation is seen.
hold
r=$(target_field alone gctrace.rotations)
caught_up && cp "$gc" "$gc.2" && : >"$gc" && wait_for 60 rotations_over "$r"
ok $? "copytruncate is seen"
release
c=$(metric heapwatch_gc_cycles_total alone)
wait_for 30 cycles_over alone "$((c + 4))"
ok $? "GCs go on after copytruncate"
[ "$(target_field alone gctrace.rotations)" -ge 2 ]
ok $? "both rotations are seen"

firing() { [ "$(target_field "$1" alert)" = firing ]; }
wait_for 60 firing alone
ok $? "the live heap alone fires"
curl -fs --max-time 30 "$HWD_URL/api/v1/alerts" >"$TMPD/alerts"
jq -e '.[] | select(.target == "alone") | .signals == "live heap" and
    (.top | length) == 0' "$TMPD/alerts" >/dev/null
ok $? "... saying so, without naming functions"
wait_for 30 firing leak
ok $? "the profiled leak fires"
jq -e '.[] | select(.target == "leak") | .signals | test("live heap")' \
    <(curl -fs --max-time 30 "$HWD_URL/api/v1/alerts") >/dev/null
ok $? "... and its live heap agrees"
grep -q "alone: leak alert firing: heap grew [0-9]* over 20 s (live heap)" \
    "$TMPD/heapwatchd.log"
ok $? "the log says which signal"
[ "$(target_field churn alert)" = inactive ] &&
    [ "$(metric heapwatch_gc_cycles_total churn)" -gt 20 ]
ok $? "a churning service's live heap does not fire"

# A goroutine target's GC lines tell its restarts, which its profiles
# cannot: GC numbers that start again, and stay under where they were for
# a quarter of the window (5 s here), start its window again. The same
# lines read again from the first (a source run again) come back to the
# last one: no restart.
gcline() {
	printf 'gc %d @%s 1%%: 0.02+1.2+0.01 ms clock, 0.07+0.3/1.0/0+0.02 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n' "$1" "$2" >>"$TMPD/gor.log"
}
scraped() {
	curl -fs --max-time 30 "$HWD_URL/metrics" | grep -Eq \
	    '^heapwatch_scrapes_total\{target="gor",result="success"\} [1-9]'
}
wait_for 30 scraped
ok $? "the goroutine target is scraped"
gcline 50 40.0s
gcline 51 41.0s
wait_for 30 cycles_over gor 1
ok $? "its GC lines are read ($(metric heapwatch_gc_cycles_total gor))"
[ "$(metric heapwatch_restarts_total gor)" = 0 ]
ok $? "no restart yet"
gcline 50 40.0s
gcline 51 41.0s
wait_for 30 cycles_over gor 3
sleep 6
gcline 52 42.0s
wait_for 30 cycles_over gor 4
[ "$(metric heapwatch_restarts_total gor)" = 0 ]
ok $? "its GC lines read again from the first are no restart"
gcline 1 0.1s
sleep 6
gcline 2 0.3s
restarted() { [ "$(metric heapwatch_restarts_total gor)" = 1 ]; }
wait_for 30 restarted
ok $? "GC numbers starting again are its restart ($(metric \
    heapwatch_restarts_total gor))"
grep -q "gor: gctrace: GC 1 after 52: the service restarted, or its log" \
    "$TMPD/heapwatchd.log"
ok $? "the log says so"

# Every GC the service printed while heapwatchd followed is counted: none
# twice, and none lost to rename-and-create or copytruncate.
hold
caught_up
ok $? "heapwatchd reads the file to its end"
want=$(($(gcs) - first))
got=$(metric heapwatch_gc_cycles_total alone)
[ "$got" -eq "$want" ] &&
    [ "$(metric heapwatch_gctrace_lines_total alone 'result="repeat"')" = 0 ]
ok $? "$got GCs counted of the $want printed"
release
kill "$LEAK_PID"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd, with its command, with status 0"

done_testing
