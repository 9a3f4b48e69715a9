#!/usr/bin/env bash
# Time to limit, severity, forced GCs and evidence against real leaking Go
# services:
# a target with a limit 1 h away at page_within 24h is critical and one
# days away at page_within 10m is warning, in the API, /metrics (which
# promtool accepts) and the webhook; a target without a limit is warning
# and has no time to limit. force_gc: always asks ?gc=1 at every heap
# scrape, never at none, and on_suspicion only while an alert is pending on
# a stale profile, where the fresh GCs let the alert fire. The fixture
# counts the heap requests it serves and those with ?gc=1. An alert that
# goes pending takes its evidence once: a heap profile after a GC, or the
# goroutine dump, served by the API and linked from the alert, the webhook
# and the page. When the leak stops, the critical alert resolves with its
# severity unchanged.
. "$(dirname "$0")/lib.sh"

# A leak of 256 KiB/s, GCs every 250 ms: the heap profile is always fresh.
fixture_start leak || { ok 1 "the leaking fixture starts"; done_testing; exit; }
LEAK=$FIXTURE_URL
# The same leak with GCs 4 s apart and automatic GC off, one service per
# force_gc setting so that each counts its own requests.
declare -A slow
for m in always never on_suspicion; do
	GOGC=off fixture_start leak -gc-every 4s ||
	    { ok 1 "the slow-GC fixture starts"; done_testing; exit; }
	slow[$m]=$FIXTURE_URL
done
fixture_start goroutine-leak ||
    { ok 1 "the goroutine-leaking fixture starts"; done_testing; exit; }
GLEAK=$FIXTURE_URL
sink_start "$TMPD/hooks.out" || { ok 1 "the webhook sink starts"; done_testing; exit; }

# 256 KiB/s reaches 1 GiB past the heap in about 4,000 s and 16 EiB never:
# the first is within 24h, not within 10m.
{
	config_head 12s 4s
	cat <<YAML
  - name: near
    url: $LEAK/debug/pprof/heap
    min_growth: 1MiB
    limit: 1GiB
    page_within: 24h
  - name: far
    url: $LEAK/debug/pprof/heap
    min_growth: 1MiB
    limit: 1GiB
    page_within: 10m
    force_gc: never
  - name: plain
    url: $LEAK/debug/pprof/heap
    min_growth: 1MiB
    force_gc: never
  - name: workers
    url: $GLEAK/debug/pprof/goroutine
    min_growth: 10
    limit: 1000000
YAML
	for m in always never on_suspicion; do
		cat <<YAML
  - name: gc-$m
    url: ${slow[$m]}/debug/pprof/heap
    min_growth: 1MiB
    force_gc: $m
YAML
	done
	cat <<YAML
alerting:
  webhooks:
    - url: $SINK_URL/hook
YAML
} >"$TMPD/hw.yaml"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }

alert_field() {	# alert_field NAME FIELD
	curl -fs --max-time 30 "$HWD_URL/api/v1/alerts" |
	    jq -r --arg n "$1" ".[] | select(.target == \$n) | .$2"
}
firing() { [ "$(alert_field "$1" state)" = firing ]; }
all_fire() { firing near && firing far && firing plain && firing workers; }

# A window and `for` take 16 s; a busy machine more.
wait_for 120 all_fire
ok $? "the four leaking targets fire"

a=$(curl -fs --max-time 30 "$HWD_URL/api/v1/alerts")
jq -e '.[] | select(.target == "near") | .severity == "critical" and
    .limit == 1073741824 and .time_to_limit_seconds > 60 and
    .time_to_limit_seconds < 86400' <<<"$a" >/dev/null
ok $? "API: near is critical, its limit within 24h"
jq -e '.[] | select(.target == "far") | .severity == "warning" and
    .time_to_limit_seconds > 600' <<<"$a" >/dev/null
ok $? "API: far is warning, its limit further than 10m"
jq -e '.[] | select(.target == "plain") | .severity == "warning" and
    (has("time_to_limit_seconds") | not) and (has("limit") | not)' \
    <<<"$a" >/dev/null
ok $? "API: plain, without a limit, is warning with no time to limit"
jq '.[] | {target, severity, limit, time_to_limit_seconds}' <<<"$a" | diag
[ "$(target_field near time_to_limit_seconds)" -gt 0 ] 2>/dev/null &&
    [ "$(target_field near limit)" = 1073741824 ]
ok $? "API: the target lists its limit and time to limit"

fetch "$HWD_URL/metrics" "$TMPD/metrics"
grep -Eq '^heapwatch_time_to_limit_seconds\{target="near"\} [0-9.]+$' \
    "$TMPD/metrics" &&
    grep -Eq '^heapwatch_time_to_limit_seconds\{target="far"\} [0-9.]+$' \
    "$TMPD/metrics" &&
    ! grep -q '^heapwatch_time_to_limit_seconds{target="plain"' \
    "$TMPD/metrics"
ok $? "/metrics: heapwatch_time_to_limit_seconds for near and far, not plain"
grep '^heapwatch_time_to_limit_seconds' "$TMPD/metrics" | diag
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMPD/metrics" >"$TMPD/promtool.out" 2>&1
	ok $? "promtool check metrics passes"
	diag <"$TMPD/promtool.out"
else
	ok 1 "promtool is installed (Debian's prometheus)"
fi

hook() {	# hook NAME: the target's first firing body
	jq -c --arg n "$1" 'select(.target == $n and .status == "firing")' \
	    "$TMPD/hooks.out" 2>/dev/null | head -n 1
}
hooks_in() { [ -n "$(hook near)" ] && [ -n "$(hook far)" ] && [ -n "$(hook plain)" ]; }
wait_for 30 hooks_in
ok $? "the webhook hears of the three"
jq -e '.severity == "critical" and .time_to_limit_seconds > 60' \
    <<<"$(hook near)" >/dev/null
ok $? "webhook: near is critical with its time to limit"
jq -e '.severity == "warning" and .time_to_limit_seconds > 600' \
    <<<"$(hook far)" >/dev/null
ok $? "webhook: far is warning"
jq -e '.severity == "warning" and (has("time_to_limit_seconds") | not)' \
    <<<"$(hook plain)" >/dev/null
ok $? "webhook: plain is warning, without a time to limit"

fetch "$HWD_URL/targets/near" "$TMPD/near.html"
grep -q 'id="limit">limit 1.0 GiB: reached in [0-9hmds]* at the current rate <span class="critical">' \
    "$TMPD/near.html"
ok $? "page: the target's view says when the limit is reached, critical"
grep 'id="limit"' "$TMPD/near.html" | diag
fetch "$HWD_URL/" "$TMPD/overview.html"
grep -q '<span class="critical">(limit in [0-9hmds]*)</span>' \
    "$TMPD/overview.html"
ok $? "page: the overview shows the time to limit"

# Evidence, taken when each alert went pending.
ev=$(alert_field near evidence)
case $ev in
/api/v1/targets/near/evidence/[0-9]*.pb.gz) ok 0 "API: near's alert links its evidence ($ev)" ;;
*) ok 1 "API: near's alert links its evidence ($ev)" ;;
esac
fetch "$HWD_URL$ev" "$TMPD/evidence.pb.gz" &&
    "$HEAPWATCH" top "$TMPD/evidence.pb.gz" >"$TMPD/evidence.top" 2>&1 &&
    grep -q 'main.leakSteady' "$TMPD/evidence.top"
ok $? "the heap evidence is a profile that names the leak"
read -r heap gc <<<"$(curl -fs --max-time 30 "$LEAK/heap-requests")"
[ "${gc:-0}" -ge 1 ]
ok $? "it was taken with ?gc=1 ($gc of $heap heap requests)"
head -n 8 "$TMPD/evidence.top" | diag
ls "$TMPD/store/near/.evidence/${ev##*/}" >/dev/null 2>&1
ok $? "it is kept beside the target's snapshots"
gev=$(alert_field workers evidence)
case $gev in
/api/v1/targets/workers/evidence/[0-9]*.txt)
	ok 0 "API: the goroutine alert links its dump ($gev)" ;;
*) ok 1 "API: the goroutine alert links its dump ($gev)" ;;
esac
fetch "$HWD_URL$gev" "$TMPD/dump.txt" &&
    grep -q '^goroutine [0-9]* \[chan receive' "$TMPD/dump.txt" &&
    grep -q 'main.leakWorker.func1' "$TMPD/dump.txt"
ok $? "the goroutine evidence is the debug=2 dump with the leaked stacks"
jq -e --arg ev "$HWD_URL$ev" '.evidence == $ev' <<<"$(hook near)" >/dev/null
ok $? "webhook: the firing note links the evidence"
grep -q "id=\"evidence\" href=\"$ev\"" "$TMPD/near.html"
ok $? "page: the alert links the evidence"
for bad in ../../etc/passwd 1.pb 01.txt; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
	    "$HWD_URL/api/v1/targets/near/evidence/$bad")
	[ "$code" = 400 ] || [ "$code" = 404 ]
	ok $? "evidence/$bad: $code"
done

# A reload that changes near (its timeout) makes the target anew, its
# alert open again from the store: with the evidence it had.
sed -i 's|^    page_within: 24h$|    page_within: 24h\n    timeout: 600ms|' \
    "$TMPD/hw.yaml"
kill -HUP "$HWD_PID"
remade() { grep -q "near: changed" "$TMPD/heapwatchd.log"; }
wait_for 30 remade
ok $? "a reload that changes near makes it anew"
[ "$(alert_field near state)" = firing ] &&
    [ "$(alert_field near evidence)" = "$ev" ]
ok $? "its alert, open again, keeps its evidence ($(alert_field near \
state), $(alert_field near evidence))"

# force_gc. The counts are the fixtures' own, of the requests they served.
counts() {	# counts MODE: "HEAP GC"
	curl -fs --max-time 30 "${slow[$1]}/heap-requests"
}
gc_fired() { firing gc-on_suspicion; }
wait_for 120 gc_fired
ok $? "on_suspicion: the leak with GCs 4 s apart fires"
read -r heap gc <<<"$(counts on_suspicion)"
[ "${gc:-0}" -gt 0 ] && [ "$gc" -lt "$heap" ]
ok $? "on_suspicion: some scrapes asked for a GC, not all ($gc of $heap)"
forced=$(curl -fs --max-time 30 "$HWD_URL/metrics" |
    sed -n 's/^heapwatch_forced_gcs_total{target="gc-on_suspicion"} //p')
[ "${forced:-0}" -gt 0 ] && [ "$forced" -le "$gc" ]
ok $? "on_suspicion: heapwatch_forced_gcs_total counts them ($forced)"
read -r heap gc <<<"$(counts always)"
[ "${heap:-0}" -ge 5 ] && [ "$gc" = "$heap" ]
ok $? "always: every heap scrape asked for a GC ($gc of $heap)"
read -r heap gc <<<"$(counts never)"
[ "${heap:-0}" -ge 5 ] && [ "$gc" = 0 ]
ok $? "never: no scrape asked for a GC ($gc of $heap)"
grep -c 'gc=1' "$TMPD/heapwatchd.log" | diag

# The leak stops: near resolves, and its resolved note has the severity
# of the last firing note (a label: Alertmanager ends only the alert of
# the same labels), not the warning its unknown time to limit would say.
curl -fs --max-time 30 -X POST "$LEAK/pause" >/dev/null
ok $? "the leaking fixture is paused"
resolved() {
	jq -c 'select(.target == "near" and .status == "resolved")' \
	    "$TMPD/hooks.out" 2>/dev/null | head -n 1
}
near_resolved() { [ -n "$(resolved)" ]; }
wait_for 90 near_resolved
ok $? "near's alert resolves once the leak stops"
last=$(jq -r 'select(.target == "near") | "\(.status) \(.severity)"' \
    "$TMPD/hooks.out" | sed -n '/^resolved /{x;p;q};h')
[ "$last" = "firing $(resolved | jq -r .severity)" ] &&
    [ -n "$(resolved | jq -r '.severity // empty')" ]
ok $? "its resolved note has the severity of the last firing one \
($last, then $(resolved | jq -r .severity 2>/dev/null))"

done_testing
