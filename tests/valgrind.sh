#!/usr/bin/env bash
# heapwatchd under valgrind's memcheck through a whole life: it scrapes a
# leaking Go service, a dead and a garbage-serving target, fires an alert
# and posts it to two webhook receivers, answers every endpoint, reloads
# a good and a broken file, and stops on SIGTERM. Memcheck must report no
# error and no block definitely lost.
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null; then
	ok 1 "valgrind is installed"
	done_testing
	exit
fi

fixture_start leak || { ok 1 "fixture starts"; done_testing; exit; }
LEAK=$FIXTURE_URL
fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
SHAPES=$FIXTURE_URL
sink_start "$TMPD/json.out" || { ok 1 "the sink starts"; done_testing; exit; }
JSON_URL=$SINK_URL
sink_start "$TMPD/am.out" || { ok 1 "the sink starts"; done_testing; exit; }
AM_URL=$SINK_URL

conf=$TMPD/heapwatchd.yaml
{ config_head 16s 6s | sed 's/timeout: 500ms/timeout: 900ms/'
    cat <<YAML; } >"$conf"
  - name: leak
    url: $LEAK/debug/pprof/heap
    min_growth: 512KiB
    labels: {team: payments}
  - name: goroutines
    url: $SHAPES/debug/pprof/goroutine
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
  - name: garbage
    url: $SHAPES/bad/garbage
alerting:
  webhooks:
    - url: $JSON_URL/hook
    - url: $AM_URL/api/v2/alerts
      format: alertmanager
YAML
cp "$conf" "$TMPD/good.yaml"

# Memcheck makes heapwatchd some twenty times slower: start it by hand
# and give it time.
vglog=$TMPD/valgrind.log
log=$TMPD/heapwatchd.log
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --track-fds=no --num-callers=30 \
    --log-file="$vglog" "$HEAPWATCHD" -R -v -c "$conf" >"$log" 2>&1 &
HWD_PID=$!
cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
HWD_URL=http://127.0.0.1:$HWD_PORT
wait_for 60 curl -fs --max-time 5 -o /dev/null "$HWD_URL/-/ready"
ok $? "heapwatchd starts under valgrind" ||
    { diag <"$log"; done_testing; exit; }

firing() { [ "$(target_field leak alert)" = firing ]; }
wait_for 150 firing
ok $? "the leak alert fires"
firing || { curl -fs --max-time 30 "$HWD_URL/api/v1/targets" | jq -c '.[]' | diag; tail -n 30 "$log" | diag; }
delivered() { [ -s "$TMPD/json.out" ] && [ -s "$TMPD/am.out" ]; }
wait_for 30 delivered
ok $? "... and is posted to both receivers"

get() { curl -fs --max-time 30 -o "$TMPD/body" "$HWD_URL$1"; }
fails=0
ids=$(curl -fs --max-time 30 "$HWD_URL/api/v1/targets/leak/snapshots" |
    jq -r '.[].id')
first=$(head -n 1 <<<"$ids")
last=$(tail -n 1 <<<"$ids")
for p in /metrics /api/v1/targets /api/v1/alerts / /?q=leak \
    /targets/leak /targets/dead /api/v1/targets/leak/snapshots \
    "/api/v1/targets/leak/snapshots/$last" /api/v1/targets/leak/diff \
    "/api/v1/targets/leak/diff?base=$first&current=$last" \
    "/targets/leak/diff?base=$first&current=$last" \
    /api/v1/targets/goroutines/diff /-/healthy /-/ready; do
	get "$p" || { fails=$((fails + 1)); echo "GET $p failed" | diag; }
done
for p in /nothing /api/v1/targets/nothing/snapshots \
    /api/v1/targets/leak/snapshots/../../x "/api/v1/targets/leak/diff?base=x"; do
	code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "$HWD_URL$p")
	case $code in 4??) ;; *) fails=$((fails + 1)); echo "GET $p: $code" | diag ;; esac
done
[ "$fails" -eq 0 ]
ok $? "every endpoint answers, and bad requests get 4xx"

reloads_failed() {
	curl -fs --max-time 30 "$HWD_URL/metrics" |
	    awk '$1 == "heapwatch_config_reloads_failed_total" {print $2}'
}
reload_refused() { [ "$(reloads_failed)" = 1 ]; }
printf 'targets: [\n' >"$conf"
kill -HUP "$HWD_PID"
wait_for 60 reload_refused
ok $? "a broken file is refused on SIGHUP"
sed '/name: garbage/,+1d' "$TMPD/good.yaml" >"$conf"
code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -X POST "$HWD_URL/-/reload")
[ "$code" = 200 ] && [ "$(curl -fs --max-time 30 "$HWD_URL/api/v1/targets" | jq length)" = 3 ]
ok $? "a good file reloads, a target fewer"
sleep 3

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"
grep -q "ERROR SUMMARY: 0 errors" "$vglog"
ok $? "memcheck reports no error"
grep -q "HEAP SUMMARY" "$vglog" && ! grep -q "definitely lost: [1-9]" "$vglog"
ok $? "memcheck finds no block definitely lost"
grep -E "ERROR SUMMARY|in use at exit|heap usage|lost:|reachable:|All heap" \
    "$vglog" | diag
grep -q "ERROR SUMMARY: 0 errors" "$vglog" || head -n 150 "$vglog" | diag

done_testing
