#!/usr/bin/env bash
# etc/heapwatch.rules.yml, the Prometheus alerting rules for heapwatchd
# itself: promtool checks them and passes their unit tests
# (tests/rules.test.yml); heapwatchd(8) names each alert; every
# heapwatch_ family they name is one a real heapwatchd exposes; and a real
# Prometheus, loading them with their "for" cut to nothing, evaluates
# every rule without error against a heapwatchd on loopback, fires
# HeapwatchTargetDown for its dead target alone,
# HeapwatchConfigReloadFailed while a reload is refused, not after, and
# HeapwatchDiscoveryFailing for a broken target file.
. "$(dirname "$0")/lib.sh"

rules=$top_srcdir/etc/heapwatch.rules.yml
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
	ok 1 "promtool and prometheus are installed (Debian's prometheus)"
	done_testing
	exit
fi

promtool check rules "$rules" >"$TMPD/check.out" 2>&1
ok $? "promtool check rules passes"
diag <"$TMPD/check.out"
promtool test rules "$top_srcdir/tests/rules.test.yml" >"$TMPD/test.out" 2>&1
ok $? "promtool test rules passes the rules' unit tests"
diag <"$TMPD/test.out"
missing=
for a in $(sed -n 's/^ *- alert: //p' "$rules"); do
	grep -q "^\.B $a\$" "$top_srcdir/man/heapwatchd.8" || missing+=" $a"
done
[ -z "$missing" ] && [ "$(grep -c '^ *- alert: ' "$rules")" -eq 9 ]
ok $? "heapwatchd(8) names each of the 9 alerts${missing:+; not:$missing}"

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
sd=$TMPD/sd
mkdir -p "$sd"
echo '[]' >"$sd/none.json"
write_config() {	# write_config FILE: a live target, a dead one, a
			# webhook, target files
	{ config_head; cat <<YAML; } >"$1"
  - name: shapes
    url: $F/debug/pprof/heap
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
discovery:
  file_sd:
    - files: [$sd/*.json]
alerting:
  webhooks:
    - url: http://127.0.0.1:1/hook
YAML
}
conf=$TMPD/hw.yaml
write_config "$conf"
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }

# Each family the rules name, with a TYPE line in /metrics.
curl -fs --max-time 5 "$HWD_URL/metrics" >"$TMPD/metrics"
missing=
for m in $(grep -o 'heapwatch_[a-z_]*' "$rules" | sort -u); do
	grep -q "^# TYPE $m " "$TMPD/metrics" || missing+=" $m"
done
n=$(grep -o 'heapwatch_[a-z_]*' "$rules" | sort -u | wc -l)
[ -z "$missing" ] && [ "$n" -ge 7 ]
ok $? "heapwatchd exposes the $n families the rules name${missing:+; not:$missing}"

# Prometheus scrapes it every second under the job name the rules expect,
# and evaluates the rules, without their waits, every second.
sed 's/^\( *for:\) .*/\1 0s/' "$rules" >"$TMPD/rules.yml"
PROM_PORT=$((HWD_PORT + 1))
prometheus_scraping "127.0.0.1:$HWD_PORT" "$TMPD/rules.yml"
PROM=http://127.0.0.1:$PROM_PORT
firing() {	# firing ALERTNAME: the target labels of its firing alerts
	curl -fs --max-time 5 "$PROM/api/v1/alerts" | jq -r --arg a "$1" '
	    [.data.alerts[] | select(.labels.alertname == $a and
	    .state == "firing") | .labels.target // "-"] | sort | join(",")'
}
fires() { [ "$(firing "$1")" = "$2" ]; }
rules_ok() {	# every rule evaluated, none with an error
	curl -fs --max-time 5 "$PROM/api/v1/rules" >"$TMPD/rules.json" &&
	    jq -e '[.data.groups[].rules[]] | length == 9 and
	    all(.health == "ok")' "$TMPD/rules.json" >/dev/null
}

wait_for 90 fires HeapwatchTargetDown dead
ok $? "HeapwatchTargetDown fires for the dead target alone ($(firing HeapwatchTargetDown))"
wait_for 30 rules_ok
ok $? "Prometheus evaluates all 9 rules without an error"
jq -r '.data.groups[].rules[] | select(.health != "ok") |
    "\(.name): \(.health) \(.lastError)"' "$TMPD/rules.json" 2>/dev/null | diag
missing=
for a in HeapwatchDown HeapwatchConfigReloadFailed HeapwatchFallingBehind \
    HeapwatchDiscoveryFailing HeapwatchSnapshotsNotStored; do
	[ -z "$(firing $a)" ] || missing+=" $a"
done
[ -z "$missing" ]
ok $? "nothing else fires${missing:+:$missing}"

# A reload refused: the alert fires, and ends once a reload is taken.
echo 'listen: [' >"$conf"
kill -HUP "$HWD_PID"
wait_for 60 fires HeapwatchConfigReloadFailed -
ok $? "HeapwatchConfigReloadFailed fires while the reload is refused"
write_config "$conf"
kill -HUP "$HWD_PID"
wait_for 60 fires HeapwatchConfigReloadFailed ""
ok $? "... and ends once the configuration is taken"

# A target file that cannot be read: HeapwatchDiscoveryFailing.
echo '[{"targets": ' >"$sd/broken.json"
wait_for 60 fires HeapwatchDiscoveryFailing -
ok $? "HeapwatchDiscoveryFailing fires for a broken target file"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
