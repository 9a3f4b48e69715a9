#!/usr/bin/env bash
# file_sd: a real heapwatchd takes its targets from JSON and YAML files
# and follows them as they are rewritten, renamed into place, broken and
# removed, without a reload; unchanged targets keep their state, through
# rewrites and through SIGHUP; a discovered name that is taken is skipped.
. "$(dirname "$0")/lib.sh"

fixture_start churn || { ok 1 "fixture 1 starts"; done_testing; exit; }
F1=${FIXTURE_URL#http://}
fixture_start churn || { ok 1 "fixture 2 starts"; done_testing; exit; }
F2=${FIXTURE_URL#http://}
N2=${F2//[:]/_}			# the name of a target named by its address

sd=$TMPD/sd
mkdir -p "$sd"
{
	config_head 20s 10s
	cat <<YAML
  - name: static1
    url: http://$F1/debug/pprof/heap
discovery:
  file_sd:
    - files: [$sd/*.json, $sd/*.yml]
      labels: {source: files, zone: default}
YAML
} >"$TMPD/hw.yaml"
cat >"$sd/a.json" <<JSON
[{"targets": ["$F2"], "labels": {"team": "a"}}]
JSON
cat >"$sd/b.yml" <<YAML
- targets: [$F1]
  labels: {name: yaml1, zone: z}
YAML

"$HEAPWATCHD" -t -c "$TMPD/hw.yaml" >"$TMPD/check.out" 2>&1
grep -q "configuration OK, 1 targets, 2 discovered in 2 files" \
    "$TMPD/check.out"
ok $? "heapwatchd -t counts the discovered targets"
diag <"$TMPD/check.out"
# A target file that does not read fails the check, saying which.
printf '[{"targets": ["%s"]' "$F2" >"$sd/broken.json"
"$HEAPWATCHD" -t -c "$TMPD/hw.yaml" >"$TMPD/check.out" 2>"$TMPD/check.err"
rc=$?
[ "$rc" = 1 ] && [ ! -s "$TMPD/check.out" ] &&
    grep -q "broken.json" "$TMPD/check.err" &&
    grep -q "hw.yaml: 1 of 3 target files failing" "$TMPD/check.err"
ok $? "heapwatchd -t fails on a broken target file (exit $rc)"
diag <"$TMPD/check.err"
rm "$sd/broken.json"

daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
log=$TMPD/heapwatchd.log

names() {
	curl -fs --max-time 5 "$HWD_URL/api/v1/targets" | jq -r '[.[].name] | sort | join(" ")'
}
metric() {	# metric SERIES: its value, or nothing
	curl -fs --max-time 5 "$HWD_URL/metrics" |
	    awk -v s="$1" '$1 == s { print $2 }'
}
has_names() {
	[ "$(names)" = "$1" ]
}
success() {	# success NAME: the target's successful scrapes
	curl -fs --max-time 5 "$HWD_URL/metrics" |
	    awk -v t="target=\"$1\"," '
	    index($1, "heapwatch_scrapes_total{" t) == 1 &&
	    $1 ~ /result="success"}$/ { print $2 }'
}
metric_is() {	# metric_is SERIES OP VALUE
	local v
	v=$(metric "$1")
	[ -n "$v" ] && [ "$v" "$2" "$3" ]
}
field_is() {	# field_is NAME FIELD VALUE
	[ "$(target_field "$1" "$2")" = "$3" ]
}
success_over() {	# success_over NAME N
	local v
	v=$(success "$1")
	[ -n "$v" ] && [ "$v" -gt "$2" ]
}

# 1. Both files, JSON and YAML, and the static target.
want="$N2 static1 yaml1"
has_names "$want"
ok $? "static and discovered targets at start: $(names)"
[ "$(target_field "$N2" url)" = "http://$F2/debug/pprof/heap" ]
ok $? "a discovered target is scraped at the default path over http"
[ "$(target_field "$N2" labels.team)/$(target_field "$N2" labels.zone)" = a/default ]
ok $? "its labels: the file's and the entry's"
[ "$(target_field yaml1 labels.zone)" = z ] &&
    [ "$(target_field yaml1 labels.name)" = null ]
ok $? "the file's label wins over the entry's; name is not a label"
up_count() {
	curl -fs --max-time 5 "$HWD_URL/api/v1/targets" |
	    jq -r '[.[] | select(.health == "up")] | length'
}
wait_for 60 eval '[ "$(up_count)" = 3 ]'
ok $? "all three targets are up"
[ "$(metric heapwatch_discovered_targets)" = 2 ] &&
    [ "$(metric heapwatch_discovery_files)" = 2 ] &&
    [ "$(metric 'heapwatch_shard_targets{source="file_sd"}')" = 2 ] &&
    [ "$(metric 'heapwatch_shard_targets{source="static"}')" = 1 ]
ok $? "metrics count 2 files, 2 discovered and 1 static target"

# 2. A file renamed into place adds its targets.
cat >"$sd/c.json.new" <<JSON
[{"targets": ["$F2"], "labels": {"name": "renamed1"}}]
JSON
mv "$sd/c.json.new" "$sd/c.json"
wait_for 60 has_names "$N2 renamed1 static1 yaml1"
ok $? "a file renamed into place adds a target without a reload: $(names)"
wait_for 60 eval '[ "$(target_field renamed1 snapshots)" -ge 1 ] 2>/dev/null'
ok $? "the new target is scraped"

# 3. The same content written again: read again, state kept.
# Counters kept are no lower right after the read; counters restarted
# would be below a few scrapes' worth, and would not catch up at once.
wait_for 60 success_over yaml1 2
before=$(success yaml1)
reads=$(metric heapwatch_discovery_reads_total)
sleep 1.1
cat >"$sd/b.yml" <<YAML
- targets: [$F1]
  labels: {name: yaml1, zone: z}
YAML
wait_for 60 metric_is heapwatch_discovery_reads_total -gt "$reads"
ok $? "a rewritten file is read again"
after=$(success yaml1)
[ -n "$before" ] && [ -n "$after" ] && [ "$after" -ge "$before" ] &&
    wait_for 60 success_over yaml1 "$after"
ok $? "an unchanged target keeps its counters across the rewrite ($before, then $after, and on)"
! grep -Eq "yaml1: (changed|removed|added)" "$log"
ok $? "an unchanged target is neither changed nor restarted"

# 3b. Written in place by a writer slow to fill it: the file, empty for
# a second around a check, is read once done, not empty (which would
# stop the target and start it afresh at the next read). A read just
# made (of the file touched) says when the checks fall, every 2 s.
reads=$(metric heapwatch_discovery_reads_total)
touch "$sd/b.yml"
wait_for 60 metric_is heapwatch_discovery_reads_total -gt "$reads"
lines=$(wc -l <"$log")
reads=$(metric heapwatch_discovery_reads_total)
sleep 1.3
: >"$sd/b.yml"
sleep 1
cat >"$sd/b.yml" <<YAML
- targets: [$F1]
  labels: {name: yaml1, zone: z}
YAML
wait_for 60 metric_is heapwatch_discovery_reads_total -gt "$reads"
sleep 2.5
has_names "$N2 renamed1 static1 yaml1" &&
    ! tail -n +"$((lines + 1))" "$log" | grep -Eq "yaml1: (changed|removed|added)"
ok $? "a file empty for a second while written in place is not read empty: $(names)"

# 4. A label changed in place: the target takes it.
cat >"$sd/b.yml" <<YAML
- targets: [$F1]
  labels: {name: yaml1, zone: y}
YAML
wait_for 60 field_is yaml1 labels.zone y
ok $? "a label rewritten in place is taken"
grep -q "yaml1: changed" "$log"
ok $? "the log says the target changed"

# 5. A broken file keeps its targets and says where it broke.
errors=$(metric heapwatch_discovery_errors_total)
# Half a file, as a writer that has not finished leaves it.
printf '[{"targets": ["%s"],\n  "labels": {"team": "a"' "$F2" >"$sd/a.json"
wait_for 60 metric_is heapwatch_discovery_files_failing = 1
ok $? "a broken file counts as failing"
[ "$(metric heapwatch_discovery_errors_total)" -gt "$errors" ]
ok $? "heapwatch_discovery_errors_total counts the failed read"
grep -Eq "file_sd: $sd/a.json:[0-9]+:[0-9]+: syntax error" "$log"
ok $? "the log names the file, line and column"
grep -E "a.json:[0-9]+:[0-9]+" "$log" | tail -n 1 | diag
sleep 2.5
has_names "$N2 renamed1 static1 yaml1"
ok $? "the broken file's targets stay: $(names)"
cat >"$sd/a.json" <<JSON
[{"targets": ["$F2"], "labels": {"team": "b"}}]
JSON
wait_for 60 field_is "$N2" labels.team b
ok $? "the repaired file is taken"
[ "$(metric heapwatch_discovery_files_failing)" = 0 ]
ok $? "and no file fails any more"

# 6. A discovered name that is taken is skipped, and counted.
cat >"$sd/d.json" <<JSON
[{"targets": ["$F2"], "labels": {"name": "static1"}}]
JSON
wait_for 60 metric_is heapwatch_discovery_name_clashes = 1
ok $? "a clash with a static name is counted"
[ "$(target_field static1 url)" = "http://$F1/debug/pprof/heap" ]
ok $? "the static target keeps its name"
grep -q "static1: http://$F2/debug/pprof/heap is skipped, the name is taken" "$log"
ok $? "the log says which target was skipped"
rm "$sd/d.json"

# 7. SIGHUP keeps the discovered targets and their state, even those of
# a file that is broken at that moment.
before=$(success yaml1)
printf -- '- targets: [%s\n' "$F2" >"$sd/c.json"
wait_for 60 metric_is heapwatch_discovery_files_failing = 1
kill -HUP "$HWD_PID"
wait_for 60 grep -q "configuration reloaded" "$log"
ok $? "heapwatchd reloads"
after=$(success yaml1)
sleep 1.5
has_names "$N2 renamed1 static1 yaml1"
ok $? "the discovered targets stay across the reload: $(names)"
[ -n "$after" ] && [ "$after" -ge "$before" ] &&
    wait_for 60 success_over yaml1 "$after"
ok $? "and keep their counters ($before, then $after, and on)"
[ "$(metric heapwatch_discovery_files_failing)" = 1 ]
ok $? "the file broken at the reload still fails, and keeps its target"

# 8. A file removed takes its targets; their snapshots stay.
rm "$sd/c.json"
wait_for 60 has_names "$N2 static1 yaml1"
ok $? "a removed file's target stops: $(names)"
ls "$TMPD/store/renamed1/"*.pb.gz >/dev/null 2>&1
ok $? "its snapshots stay in the store"
echo '[]' >"$sd/b.yml.new"
mv "$sd/b.yml.new" "$sd/b.yml"
wait_for 60 has_names "$N2 static1"
ok $? "a file rewritten without a target stops it: $(names)"

# 9. The entry's path gives heap profiles, and its thresholds are bytes:
# a target whose __metrics_path__ names goroutines is skipped, and said.
cat >"$sd/k.yml.new" <<YAML
- targets: [$F1]
  labels: {name: gor, __metrics_path__: /debug/pprof/goroutine}
- targets: [$F1]
  labels: {name: heap2, __metrics_path__: /debug/pprof/heap?debug=0}
YAML
mv "$sd/k.yml.new" "$sd/k.yml"
wait_for 60 has_names "$N2 heap2 static1"
ok $? "a target of another kind of profile than its entry's is skipped: $(names)"
grep -q 'k.yml: gor: __metrics_path__ /debug/pprof/goroutine is not the kind of profile' "$log"
ok $? "and the log says so"
curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
promtool check metrics <"$TMPD/metrics" >"$TMPD/promtool.out" 2>&1
ok $? "promtool check metrics passes"
diag <"$TMPD/promtool.out"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"

done_testing
