#!/usr/bin/env bash
# Leak detection on real Go services, one per shape, all watched at once
# by one heapwatchd at a 1 s interval over a 20 s window: the three leaks
# (steady, a small one inside a big sawtooth, goroutines) fire and name the
# leaking function first; churn, a sawtooth and a cache that fills and
# stops never fire. Prints each leak's detection delay.
. "$(dirname "$0")/lib.sh"

leaks="leak sawtooth-leak goroutine-leak"
quiet="churn sawtooth cache"
declare -A url want
want[leak]=main.leakSteady
want[sawtooth-leak]=main.leakSmall
want[goroutine-leak]=main.leakWorker.func1
for m in $leaks $quiet; do
	fixture_start "$m" || { ok 1 "fixture $m starts"; done_testing; exit; }
	case $m in
	goroutine-leak) url[$m]=$FIXTURE_URL/debug/pprof/goroutine ;;
	*) url[$m]=$FIXTURE_URL/debug/pprof/heap ;;
	esac
done
started=$(date +%s)
sink_start "$TMPD/webhooks.out" || { ok 1 "the webhook sink starts"; done_testing; exit; }
SINK1=$SINK_URL
sink_start "$TMPD/repeats.out" || { ok 1 "the second sink starts"; done_testing; exit; }
SINK2=$SINK_URL
alertmanager_start
ok $? "Alertmanager starts"

{
	config_head 20s 10s
	for m in $leaks $quiet; do
		echo "  - name: $m"
		echo "    url: ${url[$m]}"
		case $m in
		goroutine-leak) echo "    min_growth: 50" ;;
		*) echo "    min_growth: 2MiB" ;;
		esac
		echo "    labels: {team: payments}"
	done
	cat <<YAML
alerting:
  webhooks:
    - url: $SINK1/hook
    - url: $AM/api/v2/alerts
      format: alertmanager
    - url: $SINK2/repeats
      repeat_interval: 3s
YAML
} >"$TMPD/hw.yaml"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }

# Watch: when each alert first fires, and whether any quiet one ever does.
# The watch lasts until the leaks have fired (up to 180 s: a window and
# `for` take 30 s, a busy machine more), and then while the quiet ones
# hold: 50 s of heapwatchd's life at least, and 20 s after the last leak
# fired, time for a wrong alert of theirs to show.
declare -A fired
watch_start=$(date +%s)
last_fired=
while :; do
	sleep 1
	now=$(date +%s)
	if curl -fs --max-time 30 "$HWD_URL/api/v1/targets" >"$TMPD/targets"; then
		for m in $leaks $quiet; do
			[ -n "${fired[$m]}" ] && continue
			s=$(jq -r --arg n "$m" '.[] | select(.name == $n) | .alert' "$TMPD/targets")
			[ "$s" = firing ] && fired[$m]=$((now - started)) && last_fired=$now
		done
	fi
	all=1
	for m in $leaks; do [ -n "${fired[$m]}" ] || all=0; done
	[ "$all" = 1 ] && [ $((now - watch_start)) -ge 50 ] &&
	    [ $((now - last_fired)) -ge 20 ] && break
	[ $((now - watch_start)) -ge 180 ] && break
done
curl -fs "$HWD_URL/api/v1/alerts" >"$TMPD/alerts"
for m in $leaks; do
	ok "$([ -n "${fired[$m]}" ]; echo $?)" \
	    "$m fires (after ${fired[$m]:-never} s of the service's life)"
	first=$(jq -r --arg n "$m" '.[] | select(.target == $n) | .top[0].function' \
	    "$TMPD/alerts")
	[ "$first" = "${want[$m]}" ]
	ok $? "$m names ${want[$m]} first ($first)"
done
for m in $quiet; do
	[ -z "${fired[$m]}" ]
	ok $? "$m never fires"
done
jq -r '.[] | "# \(.target): \(.state), growth \(.growth), \(.signals): \(.top[0].function) \(.top[0].file):\(.top[0].line)"' \
    "$TMPD/alerts"
f=$(jq -r '.[] | select(.target == "leak") | .top[0].file' "$TMPD/alerts")
case $f in */tests/fixture/main.go) ok 0 "the site is the fixture's source file" ;;
*) ok 1 "the site is the fixture's source file ($f)" ;; esac

# The webhooks: one firing note per leak, in the contract's shape, and
# each leak's alert in Alertmanager with the target's labels.
am_holds() {	# am_holds TARGET
	jq -e --arg n "$1" '[.[] | select(.labels.target == $n and
	    .labels.team == "payments" and .status.state == "active")] |
	    length == 1' <(curl -fs --max-time 30 "$AM/api/v2/alerts") >/dev/null
}
for m in $leaks; do
	n=$(jq -s --arg n "$m" '[.[] | select(.target == $n and .status == "firing")] | length' \
	    "$TMPD/webhooks.out")
	[ "$n" = 1 ]
	ok $? "$m: one firing webhook ($n)"
	jq -e -s --arg n "$m" --arg f "${want[$m]}" '[.[] | select(.target == $n)][0] |
	    .labels.team == "payments" and .top[0].function == $f and
	    (.since | test("^[0-9-]+T[0-9:.]+Z$")) and .window_seconds == 20 and
	    (.current_snapshot | test("/api/v1/targets/" + $n + "/snapshots/[0-9]+$"))' \
	    "$TMPD/webhooks.out" >/dev/null
	ok $? "$m: the webhook body names ${want[$m]} and links the snapshots"
	wait_for 30 am_holds "$m"
	ok $? "$m: Alertmanager holds the alert with the target's labels"
	# Its link back, followed as a person would: the target's page.
	g=$(curl -fs --max-time 30 "$AM/api/v2/alerts" | jq -r --arg n "$m" \
	    '.[] | select(.labels.target == $n) | .generatorURL')
	curl -fs --max-time 30 "$g" | grep -q "<title>[^<]*$m"
	ok $? "$m: its generatorURL is the target's page ($g)"
done
for m in $quiet; do
	! grep -q "\"target\":\"$m\"" "$TMPD/webhooks.out"
	ok $? "$m: no webhook"
done

# A firing alert is sent again every repeat interval.
n=$(jq -s '[.[] | select(.target == "leak" and .status == "firing")] | length' \
    "$TMPD/repeats.out")
[ "$n" -ge 3 ]
ok $? "a firing alert is repeated every 3 s to the receiver that asks ($n)"

# heapwatchd restarted: the alerts are rebuilt from the stored snapshots,
# firing at once, and nothing is sent again before its time.
kill -TERM "$HWD_PID"
wait "$HWD_PID"
before=$(wc -l <"$TMPD/webhooks.out")
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd restarts"; done_testing; exit; }
[ "$(target_field leak alert)" = firing ]
ok $? "after a restart, the leak's alert is firing at once"
sleep 3
[ "$(wc -l <"$TMPD/webhooks.out")" = "$before" ]
ok $? "... and no webhook is sent again ($before notes before and after)"

# heapwatch judge on the stored snapshots reaches the daemon's verdict.
for m in leak churn; do
	"$top_builddir/heapwatch" judge --window 20s --for 10s --min-growth 2MiB \
	    --json "$TMPD/store/$m" >"$TMPD/judge.json"
	want_state=$(jq -r --arg n "$m" '.[] | select(.name == $n) | .alert' \
	    <(curl -fs "$HWD_URL/api/v1/targets"))
	got=$(jq -r .state "$TMPD/judge.json")
	[ "$got" = "$want_state" ]
	ok $? "heapwatch judge on $m's snapshots says $got, as the daemon ($want_state)"
done

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
