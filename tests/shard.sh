#!/usr/bin/env bash
# Two heapwatchd share the targets of one configuration (rendered twice
# from one template, differing only in listen, storage.path and
# shard.index), as configuration management deploys them. One Prometheus
# scrapes both: every target's heapwatch_target_up is there exactly once.
# Both post alerts to a cluster of two Alertmanagers, which routes them to
# a webhook sink: a leak's alert is delivered there once.
. "$(dirname "$0")/lib.sh"

for p in prometheus prometheus-alertmanager promtool; do
	command -v $p >/dev/null || {
		ok 1 "$p is installed (Debian's prometheus, prometheus-alertmanager)"
		done_testing
		exit
	}
done

fixture_start leak || { ok 1 "the leaking fixture starts"; done_testing; exit; }
LEAK=${FIXTURE_URL#http://}
fixture_start churn || { ok 1 "the churning fixture starts"; done_testing; exit; }
CHURN=${FIXTURE_URL#http://}
sink_start "$TMPD/sink.out" || { ok 1 "the sink starts"; done_testing; exit; }

PORT0=$HWD_PORT
PORT1=$((HWD_PORT + 5))
AM1_PORT=$((HWD_PORT + 2))
AM2_PORT=$((HWD_PORT + 3))
AM1_CLUSTER=$((HWD_PORT + 6))
AM2_CLUSTER=$((HWD_PORT + 7))
PROM_PORT=$((HWD_PORT + 4))

# The Alertmanager cluster: each names the other as its peer.
cat >"$TMPD/alertmanager.yml" <<YAML
route:
  receiver: sink
  group_by: [alertname, target]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: $SINK_URL/alertmanager
        send_resolved: false
YAML
am_start() {	# am_start N WEB CLUSTER PEER
	prometheus-alertmanager --config.file="$TMPD/alertmanager.yml" \
	    --storage.path="$TMPD/am$1" \
	    --web.listen-address="127.0.0.1:$2" \
	    --cluster.listen-address="127.0.0.1:$3" \
	    --cluster.advertise-address="127.0.0.1:$3" \
	    --cluster.peer="127.0.0.1:$4" \
	    --cluster.peer-timeout=5s \
	    --cluster.settle-timeout=15s \
	    >"$TMPD/am$1.log" 2>&1 &
	cleanup_hooks+=("kill $! 2>/dev/null")
}
am_start 1 "$AM1_PORT" "$AM1_CLUSTER" "$AM2_CLUSTER"
am_start 2 "$AM2_PORT" "$AM2_CLUSTER" "$AM1_CLUSTER"
wait_for 20 curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$AM1_PORT/-/ready" &&
    wait_for 20 curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$AM2_PORT/-/ready"
ok $? "two Alertmanagers start"
peers() {
	[ "$(curl -fs --max-time 2 "http://127.0.0.1:$1/api/v2/status" |
	    jq -r '.cluster.peers | length')" = 2 ]
}
wait_for 20 peers "$AM1_PORT" && wait_for 20 peers "$AM2_PORT"
ok $? "they form a cluster of two"

# One template; the files of the two instances differ in three values.
cat >"$TMPD/sd.json" <<JSON
[{"targets": ["$CHURN"], "labels": {"name": "api"}},
 {"targets": ["$CHURN"], "labels": {"name": "billing"}},
 {"targets": ["$CHURN"], "labels": {"name": "checkout"}},
 {"targets": ["$CHURN"], "labels": {"name": "search"}},
 {"targets": ["$CHURN"], "labels": {"name": "users"}},
 {"targets": ["$CHURN"], "labels": {"name": "orders"}},
 {"targets": ["$CHURN"]}]
JSON
cat >"$TMPD/template.yaml" <<YAML
listen: 127.0.0.1:@PORT@
storage:
  path: $TMPD/store@INDEX@
defaults:
  interval: 1s
  timeout: 500ms
  window: 20s
  for: 10s
  min_growth: 2MiB
targets:
  - name: leaky
    url: http://$LEAK/debug/pprof/heap
  - name: static2
    url: http://$CHURN/debug/pprof/heap
discovery:
  file_sd:
    - files: [$TMPD/sd.json]
shard: {count: 2, index: @INDEX@}
alerting:
  webhooks:
    - url: http://127.0.0.1:$AM1_PORT/api/v2/alerts
      format: alertmanager
    - url: http://127.0.0.1:$AM2_PORT/api/v2/alerts
      format: alertmanager
YAML
sed -e "s/@PORT@/$PORT0/" -e "s/@INDEX@/0/g" "$TMPD/template.yaml" >"$TMPD/hw0.yaml"
sed -e "s/@PORT@/$PORT1/" -e "s/@INDEX@/1/g" "$TMPD/template.yaml" >"$TMPD/hw1.yaml"
all="api billing checkout leaky orders search static2 users ${CHURN//:/_}"
all=$(echo "$all" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')

HWD_PORT=$PORT0
daemon_start "$TMPD/hw0.yaml" "$TMPD/hw0.log" || { ok 1 "heapwatchd 0 starts"; done_testing; exit; }
URL0=$HWD_URL
PID0=$HWD_PID
HWD_PORT=$PORT1
daemon_start "$TMPD/hw1.yaml" "$TMPD/hw1.log" || { ok 1 "heapwatchd 1 starts"; done_testing; exit; }
URL1=$HWD_URL
PID1=$HWD_PID
ok 0 "two heapwatchd start from one template"

names() {	# names URL
	curl -fs --max-time 30 "$1/api/v1/targets" | jq -r '.[].name'
}
# The file_sd targets come with the first read of the file, which a busy
# machine may not have done by the time the instances are ready.
both_names() {
	both=$( (names "$URL0"; names "$URL1") | sort | tr '\n' ' ' |
	    sed 's/ $//')
	[ "$both" = "$all" ]
}
wait_for 30 both_names
rc=$?
n0=$(names "$URL0" | wc -l)
n1=$(names "$URL1" | wc -l)
[ "$n0" -ge 1 ] && [ "$n1" -ge 1 ]
ok $? "each instance watches some of the 9 targets ($n0 and $n1)"
ok $rc "together they watch every target once: $both"
[ -z "$( (names "$URL0"; names "$URL1") | sort | uniq -d)" ]
ok $? "no target is watched by both"

# Prometheus scrapes both instances.
prometheus_scraping "127.0.0.1:$PORT0 127.0.0.1:$PORT1"
scraped() {
	[ "$(prom_query 'count(up{job="heapwatch"} == 1)' | jq -r '.data.result[0].value[1]')" = 2 ]
}
wait_for 60 scraped
ok $? "Prometheus scrapes both heapwatchd"
prom_query 'count by (target) (heapwatch_target_up)' >"$TMPD/counts.json"
seen=$(jq -r '[.data.result[].metric.target] | sort | join(" ")' "$TMPD/counts.json")
[ "$seen" = "$all" ]
ok $? "Prometheus has heapwatch_target_up for every target: $seen"
[ "$(jq -r '[.data.result[] | select(.value[1] != "1")] | length' "$TMPD/counts.json")" = 0 ]
ok $? "each of them exactly once across the two instances"
v=$(prom_query 'sum(heapwatch_shard_targets)' | jq -r '.data.result[0].value[1]')
[ "$v" = 9 ]
ok $? "heapwatch_shard_targets adds up to all 9 targets ($v)"
v=$(prom_query 'count(count by (instance) (heapwatch_shards == 2))' | jq -r '.data.result[0].value[1]')
[ "$v" = 2 ]
ok $? "both say heapwatch_shards 2"

# The leak fires on the instance that watches it, to both Alertmanagers;
# the cluster delivers it once.
started=$(date +%s)
delivered() {
	[ "$(grep -c '"target":"leaky"' "$TMPD/sink.out" 2>/dev/null)" -ge 1 ]
}
wait_for 150 delivered
ok $? "the leak's alert reaches the sink, after $(( $(date +%s) - started )) s"
on=$(for u in "$URL0" "$URL1"; do
	curl -fs "$u/api/v1/alerts" | jq -r '.[] | select(.state == "firing") | .target'
done)
[ "$on" = leaky ]
ok $? "one heapwatchd has it firing: $on"
both_have() {
	for p in "$AM1_PORT" "$AM2_PORT"; do
		curl -fs "http://127.0.0.1:$p/api/v2/alerts" |
		    jq -e '.[] | select(.labels.target == "leaky")' >/dev/null || return 1
	done
}
wait_for 30 both_have
ok $? "both Alertmanagers hold the alert"
# The second Alertmanager sends only after its peer timeout (5 s) unless
# the first one's delivery reached it; wait well beyond that.
sleep 12
n=$(grep '"status":"firing"' "$TMPD/sink.out" | grep -c '"target":"leaky"')
[ "$n" = 1 ]
ok $? "the sink got the alert once ($n deliveries)"
grep -o '"alertname":"HeapGrowth"' "$TMPD/sink.out" | head -n 1 | grep -q HeapGrowth
ok $? "it is the HeapGrowth alert"
kill -TERM "$PID0" "$PID1"
wait "$PID0" && wait "$PID1"
ok $? "SIGTERM stops both heapwatchd with status 0"

done_testing
