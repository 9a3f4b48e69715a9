#!/usr/bin/env bash
# Repeats against a real Go service: in the fixture's "shapes" mode
# automatic GC is off, so its heap profile, as of the last GC, changes only
# when it collects (POST /mutate runs GC twice), and with -profile-rate 0
# serving it adds no new allocation site. Scraped every second, it repeats
# but for its time: heapwatchd counts those scrapes in
# heapwatch_scrape_repeats_total and stores them as received without
# decoding them. After a GC the next profile is decoded (its new total
# shows, where a repeat would have kept the last), and repeats go on from
# it. With the packed store (HEAPWATCH_STORAGE_FORMAT=pack) every body is
# decoded and none is counted.
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
inuse() { metric 'heapwatch_heap_inuse_bytes{target="shapes"}'; }
successes() {
	metric 'heapwatch_scrapes_total{target="shapes",result="success"}'
}
has_repeats() { [ "$(repeats)" -ge "$1" ] 2>/dev/null; }
has_successes() { [ "$(successes)" -ge "$1" ] 2>/dev/null; }
inuse_not() { local v; v=$(inuse); [ -n "$v" ] && [ "$v" != "$1" ]; }

if [ "$STORAGE_FORMAT" = pack ]; then
	wait_for 60 has_successes 5
	ok $? "the target is scraped ($(successes) profiles)"
	[ "$(repeats)" = 0 ]
	ok $? "packed, every body is decoded: no repeat counted"
	done_testing
	exit
fi

wait_for 60 has_successes 5
# Both counts from one render.
curl -fs --max-time 30 "$HWD_URL/metrics" >"$TMPD/metrics"
m_repeats=$(awk '$1 == "heapwatch_scrape_repeats_total" {print $2}' \
    "$TMPD/metrics")
m_ok=$(awk '$1 == "heapwatch_scrapes_total{target=\"shapes\",result=\"success\"}" {print $2}' \
    "$TMPD/metrics")
[ "${m_ok:-0}" -ge 5 ] && [ "$m_repeats" = $((m_ok - 1)) ]
ok $? "every scrape after the first is counted a repeat ($m_repeats of $m_ok)"
n=$(target_field shapes snapshots)
[ "${n:-0}" -ge "$(successes)" ]
ok $? "... and stored all the same ($n snapshots)"
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
[ $((m_ok - m_repeats)) -ge 2 ] && [ $((m_ok - m_repeats)) -le 3 ]
ok $? "only the scrapes after the GC were decoded ($((m_ok - m_repeats)) of $m_ok in all)"
[ "$(inuse)" = "$after" ]
ok $? "... keeping its total ($(inuse) bytes)"

# What was stored of a repeat is the body as received: go tool pprof
# shows the same as for the snapshot decoded before it.
dir=$TMPD/store/shapes
set -- $(ls "$dir" | grep '\.pb\.gz$' | sort | tail -2)
[ $# = 2 ] && cmp -s <(pprof_top "$dir/$1") <(pprof_top "$dir/$2") &&
    ! cmp -s "$dir/$1" "$dir/$2"
ok $? "the last two snapshots differ in bytes (their times), not in what pprof shows"

done_testing
