#!/usr/bin/env bash
# Webhook alerts get through faults, with a real heapwatchd on a leaking
# Go service (tests/fixture) and webhook sinks (tests/sink) that count
# what they were told was delivered: a receiver down until the alert has
# failed once, one that answers 500 three times, one slower than its
# timeout twice, and one down while heapwatchd is killed with SIGKILL and
# started again. Each gets the firing alert exactly once, and the counters
# of /metrics say so. Prints how long each took once its receiver was up.
. "$(dirname "$0")/lib.sh"

now_ms() {
	date +%s%3N
}

# A counter of heapwatch_notifications_total. The bound is long: an ASan
# heapwatchd on a busy machine may take seconds to answer, and an answer
# cut short would read as a wrong count.
notes() {	# notes RECEIVER RESULT
	curl -fs --max-time 30 "$HWD_URL/metrics" | awk -v k="heapwatch_notifications_total{receiver=\"$1\",result=\"$2\"}" \
	    '$1 == k { print $2 }'
}

# Whether a counter has reached N.
notes_reach() {	# notes_reach RECEIVER RESULT N
	[ "$(notes "$1" "$2")" -ge "$3" ] 2>/dev/null
}

# The firing notes of target leak in a sink's file, either format.
firing() {	# firing FILE
	[ -f "$1" ] || { echo 0; return; }
	jq -s '[.[] | if type == "array" then .[0] |
	    select(.labels.target == "leak" and
	    (.endsAt | sub("\\.[0-9]+Z$"; "Z") | fromdate) > now)
	    else select(.target == "leak" and .status == "firing") end] |
	    length' "$1"
}

firing_is() {	# firing_is FILE N
	[ "$(firing "$1")" = "$2" ]
}

# The entries of the webhooks' spool.
spooled() {
	find "$TMPD/store/.webhooks" -maxdepth 1 -name '*.json' 2>/dev/null |
	    sort
}

# A loopback port nothing listens on: a sink's, once it has stopped.
free_port() {
	sink_start "$TMPD/unused.out" || return 1
	kill "$STARTED_PID"
	wait "$STARTED_PID" 2>/dev/null
	echo "${SINK_URL##*:}"
}

fixture_start leak || { ok 1 "the fixture starts"; done_testing; exit; }
DOWN_PORT=$(free_port) && KILL_PORT=$(free_port) ||
    { ok 1 "two free ports"; done_testing; exit; }
DOWN=http://127.0.0.1:$DOWN_PORT/down
KILL=http://127.0.0.1:$KILL_PORT/restart
sink_start "$TMPD/fails.out" -delivered "$TMPD/fails.ok" -fail 3 ||
    { ok 1 "the failing sink starts"; done_testing; exit; }
FAILS=$SINK_URL/fails
sink_start "$TMPD/slow.out" -delivered "$TMPD/slow.ok" -hang 2 -delay 3s ||
    { ok 1 "the slow sink starts"; done_testing; exit; }
SLOW=$SINK_URL/api/v2/alerts

{
	# Twenty scrapes a window, so that scrapes ending early or late on a
	# busy machine still leave it judged (its points must span 90%).
	config_head 20s 5s
	cat <<YAML
  - name: leak
    url: $FIXTURE_URL/debug/pprof/heap
    min_growth: 1MiB
alerting:
  webhooks:
    - url: $DOWN
      timeout: 1s
    - url: $FAILS
      timeout: 1s
    - url: $SLOW
      format: alertmanager
      timeout: 1s
    - url: $KILL
      timeout: 1s
YAML
} >"$TMPD/hw.yaml"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
started=$(now_ms)

is_firing() { [ "$(target_field leak alert)" = firing ]; }
wait_for 90 is_firing
ok $? "the leak's alert fires ($(( ($(now_ms) - started) / 1000 )) s after start)"

# (1) Down: started once the first attempt has failed.
wait_for 20 notes_reach "$DOWN" failed 1
ok $? "the receiver that is down fails the first attempt"
[ "$(spooled | wc -l)" -ge 2 ] && grep -qF "\"receiver\":\"$DOWN\"" $(spooled)
ok $? "the undelivered alerts are in the spool ($(spooled | wc -l) entries)"
up=$(now_ms)
sink_start "$TMPD/down.out" -listen "127.0.0.1:$DOWN_PORT" \
    -delivered "$TMPD/down.ok" ||
    { ok 1 "the sink starts on the port that was down"; done_testing; exit; }
wait_for 20 firing_is "$TMPD/down.ok" 1
ok $? "down, then up: the firing alert arrives ($(( $(now_ms) - up )) ms after the receiver is up)"

# (2) 500 three times, (3) slower than the timeout twice.
wait_for 30 firing_is "$TMPD/fails.ok" 1
ok $? "500, 500, 500: retried, then delivered"
[ "$(wc -l <"$TMPD/fails.out")" -eq 4 ]
ok $? "... in 4 POSTs ($(wc -l <"$TMPD/fails.out"))"
wait_for 30 firing_is "$TMPD/slow.ok" 1
ok $? "slower than the timeout twice: retried, then delivered (alertmanager)"
[ "$(wc -l <"$TMPD/slow.out")" -eq 3 ]
ok $? "... in 3 POSTs ($(wc -l <"$TMPD/slow.out"))"

[ "$(notes "$DOWN" sent)" = 1 ] && notes_reach "$DOWN" failed 1
ok $? "metrics, down: sent 1, failed $(notes "$DOWN" failed)"
[ "$(notes "$FAILS" sent)" = 1 ] && [ "$(notes "$FAILS" failed)" = 3 ]
ok $? "metrics, 500s: sent 1, failed 3 ($(notes "$FAILS" sent), $(notes "$FAILS" failed))"
[ "$(notes "$SLOW" sent)" = 1 ] && [ "$(notes "$SLOW" failed)" = 2 ]
ok $? "metrics, slow: sent 1, failed 2 ($(notes "$SLOW" sent), $(notes "$SLOW" failed))"

# What is delivered leaves the spool; the receiver still down keeps its
# entry.
spool_is_kill_only() {
	[ "$(spooled | wc -l)" -eq 1 ] &&
	    jq -e --arg u "$KILL" '.receiver == $u and .format == "json" and
	    .note.target == "leak" and .note.status == "firing"' \
	    $(spooled) >/dev/null
}
wait_for 5 spool_is_kill_only
ok $? "the spool holds one entry: the firing alert for the receiver still down"
notes_reach "$KILL" failed 1 && [ "$(notes "$KILL" sent)" = 0 ]
ok $? "metrics, down all along: sent 0, failed $(notes "$KILL" failed)"

# (4) SIGKILL while the receiver is down, and a restart.
kill -KILL "$HWD_PID"
wait "$HWD_PID" 2>/dev/null
daemon_start "$TMPD/hw.yaml" "$TMPD/heapwatchd2.log" ||
    { ok 1 "heapwatchd restarts"; done_testing; exit; }
[ "$(notes "$KILL" restored)" = 1 ] && [ "$(notes "$DOWN" restored)" = 0 ] &&
    [ "$(notes "$FAILS" restored)" = 0 ] && [ "$(notes "$SLOW" restored)" = 0 ]
ok $? "after SIGKILL and a restart, the undelivered alert is restored, and only it"
grep -q "webhook $KILL: queued again what the last run left undelivered: 1" \
    "$TMPD/heapwatchd2.log"
ok $? "the restart logs it"
wait_for 20 notes_reach "$KILL" failed 1
ok $? "it is retried while the receiver is still down"
up=$(now_ms)
sink_start "$TMPD/kill.out" -listen "127.0.0.1:$KILL_PORT" \
    -delivered "$TMPD/kill.ok" ||
    { ok 1 "the sink starts on the port that was down"; done_testing; exit; }
wait_for 30 firing_is "$TMPD/kill.ok" 1
ok $? "the receiver up: the alert from before the SIGKILL arrives ($(( $(now_ms) - up )) ms after)"

# Nothing twice: not that alert, and none of those delivered before.
sleep 5
for f in down fails slow kill; do
	n=$(firing "$TMPD/$f.ok")
	[ "$n" = 1 ]
	ok $? "$f: the firing alert was delivered once ($n)"
done
sent=$(for r in "$KILL" "$DOWN" "$FAILS" "$SLOW"; do notes "$r" sent; done |
    tr '\n' ' ')
[ "$sent" = "1 0 0 0 " ]
ok $? "metrics after the restart: sent 1 to that receiver, 0 to the others ($sent)"
n=$(curl -fs "$HWD_URL/metrics" | grep -c '^heapwatch_notifications_queued{.*} 0$')
[ "$n" = 4 ]
ok $? "nothing is queued ($n receivers at 0)"
[ -z "$(spooled)" ]
ok $? "the spool is empty"
curl -fs "$HWD_URL/metrics" | grep -q '^heapwatch_notifications_spool_errors_total 0$'
ok $? "no spool errors"
state=$(target_field leak alert)
[ "$state" = firing ]
ok $? "the alert still fires ($state)"
[ "$state" = firing ] ||
    grep -E "alert|restart|snapshot not" "$TMPD/heapwatchd2.log" | diag

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops cleanly"
done_testing
