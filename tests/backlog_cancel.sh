#!/usr/bin/env bash
# A scrape cancelled gives its room in the backlog back, and the scrapes
# waiting behind it start. A target whose last body was 50 MiB holds more
# than the backlog's cap (16 MiB) while its next scrape is under way, so
# the other targets' scrapes wait; that target is removed by a reload
# while its scrape hangs. The good target must be scraped again at once,
# and a target the reload adds too, not wait for ever behind a job that
# is gone.
. "$(dirname "$0")/lib.sh"

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
badtarget_start || { ok 1 "badtarget starts"; done_testing; exit; }
B=$STARTED_URL
conf=$TMPD/hw.yaml
good() {
	config_head 20s 10s
	printf '  - name: good\n    url: %s/debug/pprof/heap\n' "$F"
}
{
	good
	printf '  - name: big\n    url: %s/bigonce?t=big\n' "$B"
	printf '    interval: 6s\n    timeout: 5s\n'
} >"$conf"
log=$TMPD/heapwatchd.log
daemon_start "$conf" "$log" || { ok 1 "heapwatchd starts"; done_testing; exit; }

hits() { curl -fs --max-time 5 "$B/hits" | awk -v k="$1" '$1 == k {print $2}'; }
scrapes() {	# scrapes NAME: its scrapes of any result
	curl -fs --max-time 5 "$HWD_URL/metrics" | awk -v n="target=\"$1\"" '
	    /^heapwatch_scrapes_total\{/ && index($0, n) {s += $2}
	    END {print s + 0}'
}
waiting() {
	curl -fs --max-time 5 "$HWD_URL/metrics" |
	    awk '$1 == "heapwatch_scrapes_waiting" {print $2}'
}
# big's second scrape, which hangs, is under way.
second() { [ "$(hits big)" -ge 2 ] 2>/dev/null; }
wait_for 30 second
ok $? "big served its 50 MiB, and its next scrape hangs"
held() { [ "$(waiting)" -ge 1 ] 2>/dev/null; }
wait_for 5 held
ok $? "the good target's scrapes wait behind it ($(waiting) waiting)"

{
	good
	printf '  - name: late\n    url: %s/debug/pprof/heap\n' "$F"
} >"$conf"
before=$(scrapes good)
kill -HUP "$HWD_PID"
# The cancelled transfer never ends by itself: without its room given
# back, nothing would start the scrapes waiting, however long.
moved() { [ "$(scrapes good)" -gt "$((before + 1))" ] && [ "$(scrapes late)" -ge 1 ]; }
wait_for 20 moved
ok $? "once big is removed, good and the new target are scraped again ($before, then $(scrapes good); late $(scrapes late))"
sleep 6
more=$(scrapes good)
sleep 3
[ "$(scrapes good)" -gt "$more" ] && [ "$(waiting)" = 0 ]
ok $? "and go on ($more, then $(scrapes good); $(waiting) waiting)"

done_testing
