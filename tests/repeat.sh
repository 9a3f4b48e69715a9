#!/usr/bin/env bash
# Repeats against a real Go service: in the fixture's "shapes" mode
# automatic GC is off, so its heap profile, as of the last GC, changes only
# when it collects (POST /mutate runs GC twice), and with -profile-rate 0
# serving it adds no new allocation site. Scraped every second, it repeats
# but for its time: heapwatchd counts those scrapes in
# heapwatch_scrape_repeats_total and stores them as received without
# decoding them. After a GC the next profile is decoded (its new total
# shows, where a repeat would have kept the last), and repeats go on from
# it. With the packed store (HEAPWATCH_STORAGE_FORMAT=pack) a repeat stores
# the database's newest snapshot again with the new times, and what the API
# serves of it shows go tool pprof what the service serves.
. "$(dirname "$0")/lib.sh"

fixture_start shapes -profile-rate 0 || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
conf=$TMPD/heapwatchd.yaml
{ config_head 1h 30m; cat <<YAML; } >"$conf"
  - name: shapes
    url: $F/debug/pprof/heap
YAML
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }

metric() {	# metric SERIES: its value, or nothing
	curl -fs --max-time 30 "$HWD_URL/metrics" |
	    awk -v s="$1" '$1 == s {print $2}'
}
repeats() { metric heapwatch_scrape_repeats_total; }
# The scrapes of the last render ($TMPD/metrics) that stored no snapshot:
# a slow scrape on a busy machine fails, and the next is decoded whole.
bad() {
	awk '/^heapwatch_scrapes_total\{target="shapes",/ &&
	    !/result="(success|skipped)"/ {n += $2} END {print n + 0}' \
	    "$TMPD/metrics"
}
inuse() { metric 'heapwatch_heap_inuse_bytes{target="shapes"}'; }
successes() {
	metric 'heapwatch_scrapes_total{target="shapes",result="success"}'
}
has_repeats() { [ "$(repeats)" -ge "$1" ] 2>/dev/null; }
has_successes() { [ "$(successes)" -ge "$1" ] 2>/dev/null; }
inuse_not() { local v; v=$(inuse); [ -n "$v" ] && [ "$v" != "$1" ]; }

wait_for 60 has_successes 5
# Both counts from one render.
curl -fs --max-time 30 "$HWD_URL/metrics" >"$TMPD/metrics"
m_repeats=$(awk '$1 == "heapwatch_scrape_repeats_total" {print $2}' \
    "$TMPD/metrics")
m_ok=$(awk '$1 == "heapwatch_scrapes_total{target=\"shapes\",result=\"success\"}" {print $2}' \
    "$TMPD/metrics")
[ "${m_ok:-0}" -ge 5 ] && [ $((m_ok - m_repeats)) -ge 1 ] &&
    [ $((m_ok - m_repeats)) -le $((1 + $(bad))) ]
ok $? "every scrape after the first is counted a repeat ($m_repeats of $m_ok, $(bad) failed)"
# The successes first: a scrape taken in between adds to both.
s=$(successes)
n=$(target_field shapes snapshots)
[ -n "$s" ] && [ "${n:-0}" -ge "$s" ]
ok $? "... and stored all the same ($n snapshots, $s successes)"
before=$(inuse)
[ -n "$before" ] && [ "$before" -gt 0 ]
ok $? "the heap in use is shown ($before bytes)"

# A GC with the heap changed: the next body is decoded, its total new.
r0=$(repeats)
curl -fs --max-time 30 -X POST "$F/mutate" >/dev/null
ok $? "POST /mutate makes the fixture collect"
wait_for 60 inuse_not "$before"
ok $? "after the GC the profile is decoded again: $before bytes in use, then $(inuse)"
after=$(inuse)
r1=$(repeats)
wait_for 60 has_repeats $((r1 + 3))
ok $? "... and repeats again from it ($r0 before the GC, $(repeats) now)"
curl -fs --max-time 30 "$HWD_URL/metrics" >"$TMPD/metrics"
m_repeats=$(awk '$1 == "heapwatch_scrape_repeats_total" {print $2}' \
    "$TMPD/metrics")
m_ok=$(awk '$1 == "heapwatch_scrapes_total{target=\"shapes\",result=\"success\"}" {print $2}' \
    "$TMPD/metrics")
# The GC is two: a scrape between them is decoded too.
[ $((m_ok - m_repeats)) -ge 2 ] &&
    [ $((m_ok - m_repeats)) -le $((3 + $(bad))) ]
ok $? "only the scrapes after the GC were decoded ($((m_ok - m_repeats)) of $m_ok in all, $(bad) failed)"
[ "$(inuse)" = "$after" ]
ok $? "... keeping its total ($(inuse) bytes)"

# What was stored of a repeat shows go tool pprof what the service
# serves now (no GC since), though its bytes differ (their times).
curl -fs --max-time 30 -o "$TMPD/live.pb.gz" "$F/debug/pprof/heap"
id=$(curl -fs --max-time 30 "$HWD_URL/api/v1/targets/shapes/snapshots" |
    jq -r '.[-1].id')
curl -fs --max-time 30 -o "$TMPD/last.pb.gz" \
    "$HWD_URL/api/v1/targets/shapes/snapshots/$id"
top_live=$(pprof_top "$TMPD/live.pb.gz")
[ -n "$top_live" ] && [ "$top_live" = "$(pprof_top "$TMPD/last.pb.gz")" ] &&
    ! cmp -s "$TMPD/live.pb.gz" "$TMPD/last.pb.gz"
ok $? "the last snapshot ($id) shows pprof what the service serves, in other bytes"
if [ "$STORAGE_FORMAT" = pack ]; then
	# Its put stored the database's newest again, coding nothing.
	n=$(grep -c "shapes: snapshot .*, the last packed one again" \
	    "$TMPD/heapwatchd.log")
	[ "${n:-0}" -ge 3 ]
	ok $? "packed repeats store the newest snapshot again ($n of $m_repeats)"
fi

done_testing
