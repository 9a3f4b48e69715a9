#!/usr/bin/env bash
# The corpus of broken configurations in tests/config/bad: each file's
# first line says the error heapwatchd must give ("# expect: LINE:COL:
# message"). heapwatchd -t prints it as FILE:LINE:COL and exits 1; and
# each, loaded by SIGHUP into a running heapwatchd, is refused with the
# same line in the log while the old configuration and all state stay.
. "$(dirname "$0")/lib.sh"

corpus=$top_srcdir/tests/config/bad
for f in "$corpus"/*.yaml; do
	want="$f:$(sed -n '1s/^# expect: //p' "$f")"
	"$HEAPWATCHD" -t -c "$f" >"$TMPD/out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] && grep -qxF "$want" "$TMPD/out"
	ok $? "$(basename "$f"): $(sed -n '1s/^# expect: //p' "$f")"
	[ "$rc" -eq 1 ] || diag <"$TMPD/out"
done

fixture_start leak || { ok 1 "fixture starts"; done_testing; exit; }
conf=$TMPD/heapwatchd.yaml
{ config_head 20s 10s; cat <<YAML; } >"$conf"
  - name: leak
    url: $FIXTURE_URL/debug/pprof/heap
    labels: {team: payments}
  - name: gone
    url: http://127.0.0.1:1/debug/pprof/heap
YAML
cp "$conf" "$TMPD/good.yaml"
log=$TMPD/heapwatchd.log
daemon_start "$conf" "$log" || { ok 1 "heapwatchd starts"; done_testing; exit; }

metric() { curl -fs --max-time 5 "$HWD_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
has_snapshots() { [ "$(target_field leak snapshots)" -ge "$1" ] 2>/dev/null; }
failed_over() { [ "$(metric heapwatch_config_reloads_failed_total)" -gt "$1" ]; }
wait_for 15 has_snapshots 2
ok $? "heapwatchd scrapes the good configuration"
targets_before=$(curl -fs "$HWD_URL/api/v1/targets" | jq -c '[.[] | {name, url, labels}]')
success_before=$(metric heapwatch_config_last_reload_success_timestamp_seconds)

refused=0
logged=0
n=0
for f in "$corpus"/*.yaml; do
	n=$((n + 1))
	cp "$f" "$conf"
	kill -HUP "$HWD_PID"
	wait_for 10 failed_over "$((n - 1))" && refused=$((refused + 1))
	grep -qF "$conf:$(sed -n '1s/^# expect: //p' "$f")" "$log" &&
	    logged=$((logged + 1))
done
[ "$refused" -eq "$n" ]
ok $? "each of the $n broken files is refused on SIGHUP ($refused)"
[ "$logged" -eq "$n" ]
ok $? "... with its FILE:LINE:COL error in the log ($logged)"
kill -0 "$HWD_PID" && curl -fs --max-time 5 "$HWD_URL/-/ready" >/dev/null
ok $? "heapwatchd goes on"
[ "$(metric heapwatch_config_last_reload_successful)" = 0 ] &&
    [ "$(metric heapwatch_config_last_reload_success_timestamp_seconds)" = "$success_before" ]
ok $? "/metrics says the last reload failed; the last success is unchanged"
[ "$(curl -fs "$HWD_URL/api/v1/targets" | jq -c '[.[] | {name, url, labels}]')" = "$targets_before" ]
ok $? "the targets are those of the old configuration"
before=$(target_field leak snapshots)
wait_for 10 has_snapshots "$((before + 1))"
ok $? "and are still scraped, the snapshots kept ($before, then more)"
[ "$(target_field gone health)" = down ]
ok $? "a target's health is kept"

cp "$TMPD/good.yaml" "$conf"
kill -HUP "$HWD_PID"
reload_ok() { [ "$(metric heapwatch_config_last_reload_successful)" = 1 ]; }
wait_for 10 reload_ok
ok $? "the good file reloads again"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"

done_testing
