#!/usr/bin/env bash
# The alert notifier against real receivers, through tests/webhook_send:
# a webhook sink (tests/sink) that records every POST and fails on demand,
# for the exact JSON body, headers, retries after 500s and timeouts; and a
# real Alertmanager, which must show the alert with the target's labels
# and drop it once resolved.
. "$(dirname "$0")/lib.sh"

SEND="$top_builddir/tests/webhook_send"
NOW=1700000000000	# 2023-11-14T22:13:20Z, for bodies that never change

# Line N of FILE.
line() {	# line FILE N
	sed -n "${2}p" "$1"
}

if [ ! -x "$SEND" ]; then
	ok 1 "tests/webhook_send is built"
	done_testing
	exit
fi

# (a) Two sinks: json with a header and three 500s first, alertmanager
# whose first POST hangs past the receiver's timeout.
sink_start "$TMPD/json.out" -fail 3 -header 'X-Token: s3cret' ||
    { ok 1 "the sink starts"; done_testing; exit; }
JSON_URL=$SINK_URL
sink_start "$TMPD/am.out" -hang 1 ||
    { ok 1 "the sink starts"; done_testing; exit; }
AM_SINK_URL=$SINK_URL
cat >"$TMPD/sinks.yaml" <<YAML
storage:
  path: $TMPD/store
targets:
  - name: api
    url: http://127.0.0.1:6060/debug/pprof/heap
    labels: {team: payments, env: "quote\\"and\\\\slash"}
alerting:
  webhooks:
    - url: $JSON_URL/hook
      timeout: 2s
      headers: {X-Token: s3cret, Content-Type: text/plain}
    - url: $AM_SINK_URL/api/v2/alerts
      format: alertmanager
      timeout: 500ms
      repeat_interval: 1h
YAML
start=$(date +%s)
"$SEND" -t "$NOW" "$TMPD/sinks.yaml" 30 >"$TMPD/send.out" 2>"$TMPD/send.err"
ok $? "webhook_send delivers both notes to both sinks"
diag <"$TMPD/send.out"
diag <"$TMPD/send.err"
[ $(($(date +%s) - start)) -le 20 ]
ok $? "within the backoff's bounds (1 s + 2 s + 4 s at most, and a timeout)"

firing='{"status":"firing","target":"api","labels":{"env":"quote\"and\\slash","team":"payments"},"kind":"heap","since":"2023-11-14T21:53:20.000Z","growth":50331648,"window_seconds":1800,"top":[{"function":"main.leak","growth":33554432,"file":"/src/svc/main.go","line":42,"stack":["main.leak","main.main"]},{"function":"main.cache.put","growth":16777216,"file":"/src/svc/cache.go","line":7,"stack":[]}],"base_snapshot":"http://127.0.0.1:9470/api/v1/targets/api/snapshots/1699998200000","current_snapshot":"http://127.0.0.1:9470/api/v1/targets/api/snapshots/1699999940000","severity":"warning"}'
resolved=$(jq -c '.status = "resolved" | .since = "2023-11-14T22:13:20.000Z"' \
    <<<"$firing")

n=$(wc -l <"$TMPD/json.out")
[ "$n" -eq 5 ]
ok $? "json: 3 failed POSTs, then the firing and the resolved note ($n)"
[ "$(line "$TMPD/json.out" 4)" = "$firing" ]
ok $? "json: the firing body is exactly SPEC's"
if [ "$(line "$TMPD/json.out" 4)" != "$firing" ]; then
	diff <(jq -S . <<<"$firing") <(line "$TMPD/json.out" 4 | jq -S .) | diag
fi
[ "$(line "$TMPD/json.out" 5)" = "$resolved" ]
ok $? "json: the resolved body, since when it resolved"
[ "$(sort -u <(head -n 4 "$TMPD/json.out") | wc -l)" -eq 1 ]
ok $? "json: every retry sends the same body"
grep -q "^$JSON_URL/hook sent=2 failed=3 dropped=0 replaced=0 queued=0\$" \
    "$TMPD/send.out"
ok $? "json: counters sent=2 failed=3"
grep -q 'HTTP status 500: failing POST 1 as told; retrying in' "$TMPD/send.err"
ok $? "a failure is logged with the status and the receiver's answer"

n=$(wc -l <"$TMPD/am.out")
[ "$n" -eq 3 ]
ok $? "alertmanager: a POST that timed out, then both notes ($n)"
grep -q "^$AM_SINK_URL/api/v2/alerts sent=2 failed=1 " "$TMPD/send.out"
ok $? "alertmanager: the timeout counts as a failed attempt"
a=$(line "$TMPD/am.out" 2)
jq -e 'length == 1 and (.[0] | keys == ["annotations", "endsAt",
    "generatorURL", "labels", "startsAt"])' <<<"$a" >/dev/null
ok $? "alertmanager: a list of one postable alert"
jq -e '.[0].labels == {alertname: "HeapGrowth", target: "api",
    severity: "warning", env: "quote\"and\\slash", team: "payments"}' <<<"$a" >/dev/null
ok $? "alertmanager: alertname, target, severity and the target's labels"
jq -e '.[0].annotations.summary == "The heap keeps growing." and
    (.[0].annotations.description | contains(
    "- main.leak +32.0 MiB at /src/svc/main.go:42"))' <<<"$a" >/dev/null
ok $? "alertmanager: summary and description with the top functions"
jq -e '.[0].startsAt == "2023-11-14T21:53:20.000Z" and
    .[0].generatorURL == "http://127.0.0.1:9470/targets/api"' \
    <<<"$a" >/dev/null
ok $? "alertmanager: startsAt and generatorURL"
left=$(jq '.[0].endsAt | sub("\\.[0-9]+Z$"; "Z") | fromdate - now | floor' \
    <<<"$a")
[ "${left:-0}" -gt $((4 * 3600 - 120)) ] && [ "$left" -le $((4 * 3600)) ]
ok $? "alertmanager: a firing alert ends 4 repeat intervals from now ($left s)"
jq -e '.[0].endsAt == "2023-11-14T22:13:20.000Z"' \
    <<<"$(line "$TMPD/am.out" 3)" >/dev/null
ok $? "alertmanager: a resolved alert ends when it resolved"

# A receiver that never answers 2xx: the driver gives up on time.
sink_start "$TMPD/down.out" -fail 1000 ||
    { ok 1 "the sink starts"; done_testing; exit; }
cat >"$TMPD/down.yaml" <<YAML
storage:
  path: $TMPD/store
alerting:
  webhooks:
    - url: $SINK_URL/
YAML
start=$(date +%s)
"$SEND" "$TMPD/down.yaml" 3 >"$TMPD/down.send" 2>&1
rc=$?
[ "$rc" -eq 1 ] && [ $(($(date +%s) - start)) -le 6 ]
ok $? "webhook_send fails after its timeout when nothing is delivered ($rc)"
grep -q ' sent=0 failed=[23] dropped=0 replaced=0 queued=2$' "$TMPD/down.send"
ok $? "retries back off: 2 or 3 attempts in 3 s, both notes still queued"
diag <"$TMPD/down.send"

# (b) A real Alertmanager on loopback, without clustering.
if ! command -v prometheus-alertmanager >/dev/null; then
	ok 1 "prometheus-alertmanager is installed (Debian's package)"
	done_testing
	exit
fi
alertmanager_start
ok $? "Alertmanager starts on 127.0.0.1:$AM_PORT"
cat >"$TMPD/am.yaml" <<YAML
storage:
  path: $TMPD/store
targets:
  - name: api
    url: http://127.0.0.1:6060/debug/pprof/heap
    labels: {team: payments, env: "quote\\"and\\\\slash"}
  - name: unused
    url: http://127.0.0.1:6061/debug/pprof/heap
alerting:
  webhooks:
    - url: $AM/api/v2/alerts
      format: alertmanager
      repeat_interval: 1h
YAML

alerts() {	# alerts: Alertmanager's alerts of target api
	curl -fs --max-time 5 "$AM/api/v2/alerts" |
	    jq -c '[.[] | select(.labels.target == "api")]'
}
alert_count_is() {	# alert_count_is N
	[ "$(alerts | jq length)" = "$1" ]
}
"$SEND" -1 "$TMPD/am.yaml" 20 >"$TMPD/am1.send" 2>&1
ok $? "the firing alert is delivered to Alertmanager"
diag <"$TMPD/am1.send"
wait_for 10 alert_count_is 1
ok $? "Alertmanager has the alert"
a=$(alerts)
jq -e '.[0].labels == {alertname: "HeapGrowth", target: "api",
    severity: "warning", env: "quote\"and\\slash", team: "payments"}' <<<"$a" >/dev/null
ok $? "with alertname, target, severity and the target's labels"
jq -e '.[0].status.state == "active" and
    .[0].annotations.summary == "The heap keeps growing." and
    .[0].generatorURL == "http://127.0.0.1:9470/targets/api"' \
    <<<"$a" >/dev/null
ok $? "active, with its summary and generatorURL"
ago=$(jq '.[0].startsAt | sub("\\.[0-9]+Z$"; "Z") | now - fromdate | floor' \
    <<<"$a")
[ "${ago:-0}" -ge 1200 ] && [ "$ago" -le 1230 ]
ok $? "startsAt is when the alert began, 20 minutes ago ($ago s)"
diag <<<"$a"

# It turns critical: one note fires the critical alert and ends the
# warning one (severity is a label: two alerts for Alertmanager).
"$SEND" -1 -c "$TMPD/am.yaml" 20 >"$TMPD/amc.send" 2>&1
ok $? "the alert turned critical is delivered to Alertmanager"
active_is() {	# active_is SEVERITY: the one alert still active has it
	[ "$(alerts | jq -c '[.[] | select(.status.state == "active") |
	    .labels.severity]')" = "[\"$1\"]" ]
}
wait_for 10 active_is critical
ok $? "Alertmanager holds the critical alert alone, the warning ended: \
$(alerts | jq -c '[.[] | [.labels.severity, .status.state]]')"

"$SEND" -c "$TMPD/am.yaml" 20 >"$TMPD/am2.send" 2>&1
ok $? "firing then resolved are delivered to Alertmanager"
wait_for 10 alert_count_is 0
ok $? "Alertmanager no longer lists the resolved alert"

kill "$AM_PID"
wait "$AM_PID" 2>/dev/null
done_testing
