#!/usr/bin/env bash
# heapwatchd's /metrics as Prometheus takes it: promtool check metrics
# passes, and a real Prometheus on loopback scrapes it with up == 1 and
# sees every target's series.
. "$(dirname "$0")/lib.sh"

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
	ok 1 "promtool and prometheus are installed (Debian's prometheus)"
	done_testing
	exit
fi

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
{ config_head; cat <<YAML; } >"$TMPD/hw.yaml"
  - name: api
    url: $F/debug/pprof/heap
    labels: {team: payments, env: "quote\\"and\\\\slash"}
  - name: workers
    url: $F/debug/pprof/goroutine
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
YAML
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
# Checked once every target has a value to show.
scraped_all() {
	curl -fs --max-time 5 "$HWD_URL/metrics" >"$TMPD/metrics" &&
	    grep -q '^heapwatch_heap_inuse_bytes{target="api"' "$TMPD/metrics" &&
	    grep -q '^heapwatch_goroutines{target="workers"' "$TMPD/metrics" &&
	    grep -q '^heapwatch_target_up{target="dead"} 0$' "$TMPD/metrics"
}
wait_for 60 scraped_all
ok $? "heapwatchd shows every target"

curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
promtool check metrics <"$TMPD/metrics" >"$TMPD/promtool.out" 2>&1
ok $? "promtool check metrics passes"
diag <"$TMPD/promtool.out"

# The process_* families say what the kernel says of the daemon.
metric() { awk -v m="$1" '$1 == m {print $2}' "$TMPD/metrics"; }
read -r utime stime start < <(awk '{print $14, $15, $22}' "/proc/$HWD_PID/stat")
tck=$(getconf CLK_TCK)
btime=$(awk '$1 == "btime" {print $2}' /proc/stat)
awk -v m="$(metric process_start_time_seconds)" -v t="$btime" \
    -v s="$start" -v k="$tck" 'BEGIN {d = m - (t + s / k)
    exit !(m != "" && d > -0.015 && d < 0.015)}'
ok $? "process_start_time_seconds is the daemon's start ($(metric process_start_time_seconds))"
awk -v m="$(metric process_cpu_seconds_total)" -v c="$((utime + stime))" \
    -v k="$tck" 'BEGIN {exit !(m != "" && m >= 0 && m <= c / k + 0.02)}'
ok $? "process_cpu_seconds_total is its CPU so far ($(metric process_cpu_seconds_total) s)"
rss=$(awk '$1 == "VmRSS:" {print $2 * 1024}' "/proc/$HWD_PID/status")
awk -v m="$(metric process_resident_memory_bytes)" -v r="$rss" \
    -v v="$(metric process_virtual_memory_bytes)" \
    'BEGIN {exit !(m != "" && m > r / 2 && m < r * 2 && v > m)}'
ok $? "process_resident_memory_bytes is its RSS ($(metric process_resident_memory_bytes), VmRSS $rss)"
fds=$(find "/proc/$HWD_PID/fd" -mindepth 1 | wc -l)
maxfds=$(awk '/^Max open files/ {print $4}' "/proc/$HWD_PID/limits")
awk -v m="$(metric process_open_fds)" -v f="$fds" \
    'BEGIN {exit !(m != "" && m >= 3 && m > f - 16 && m < f + 16)}' &&
    [ "$(metric process_max_fds)" = "$maxfds" ]
ok $? "process_open_fds and process_max_fds are its descriptors ($(metric process_open_fds) of $(metric process_max_fds); $fds open now)"

# A real Prometheus scraping heapwatchd every second.
PROM_PORT=$((HWD_PORT + 1))
prometheus_scraping "127.0.0.1:$HWD_PORT"
scraped() {
	[ "$(prom_query 'up{job="heapwatch"}' | jq -r '.data.result[0].value[1]')" = 1 ]
}
wait_for 60 scraped
ok $? "Prometheus scrapes heapwatchd with up == 1"
# Its first scrape may precede the targets' first values.
has_all() {
	[ "$(prom_query 'count(heapwatch_target_up) + count(heapwatch_heap_inuse_bytes{target="api"}) + count(heapwatch_goroutines{target="workers"})' |
	    jq -r '.data.result[0].value[1]')" = 5 ]
}
wait_for 60 has_all
n=$(prom_query 'count(heapwatch_target_up)' | jq -r '.data.result[0].value[1]')
[ "$n" = 3 ]
ok $? "Prometheus sees heapwatch_target_up for all 3 targets ($n)"
v=$(prom_query 'heapwatch_target_up{target="api"}' | jq -r '.data.result[0].metric.team')
[ "$v" = payments ]
ok $? "the target's labels come with its series"
v=$(prom_query 'heapwatch_target_up{target="api"}' | jq -r '.data.result[0].metric.env')
[ "$v" = 'quote"and\slash' ]
ok $? "label values are escaped right: $v"
v=$(prom_query 'heapwatch_heap_inuse_bytes{target="api"}' | jq -r '.data.result[0].value[1]')
[ "${v:-0}" -gt 0 ]
ok $? "heapwatch_heap_inuse_bytes of a heap target ($v)"
v=$(prom_query 'heapwatch_goroutines{target="workers"}' | jq -r '.data.result[0].value[1]')
[ "${v:-0}" -gt 0 ]
ok $? "heapwatch_goroutines of a goroutine target ($v)"
v=$(prom_query 'heapwatch_target_up{target="dead"}' | jq -r '.data.result[0].value[1]')
[ "$v" = 0 ]
ok $? "a dead target is 0 in heapwatch_target_up"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
