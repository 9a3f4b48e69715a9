#!/usr/bin/env bash
# heapwatchd with more to decode than its workers can take: 300 targets
# serve a gzip that inflates past the 256 MiB cap, each costing a worker
# some 0.15 s. Once 256 bodies wait, scrapes are skipped and counted as
# result="skipped", the daemon says so once, and it keeps answering.
. "$(dirname "$0")/lib.sh"

bin=$(badtarget_bin) && serve_start badtarget "$bin" -listen 127.0.0.1:0 ||
    { ok 1 "badtarget starts"; done_testing; exit; }
B=$STARTED_URL
{
	config_head 20s 10s | sed 's/timeout: 500ms/timeout: 900ms/'
	for i in $(seq 1 300); do
		printf '  - name: bomb%d\n    url: %s/fieldbomb\n' "$i" "$B"
	done
} >"$TMPD/hw.yaml"
log=$TMPD/heapwatchd.log
daemon_start "$TMPD/hw.yaml" "$log" ||
    { ok 1 "heapwatchd starts"; done_testing; exit; }

skipped() {
	curl -fs --max-time 5 "$HWD_URL/metrics" |
	    awk '/^heapwatch_scrapes_total\{.*result="skipped"/ {n += $2}
	    END {print n + 0}'
}
skipping() { [ "$(skipped)" -gt 0 ]; }
wait_for 30 skipping
ok $? "with 256 bodies waiting, scrapes are skipped ($(skipped))"
[ "$(grep -c "the decoding workers are behind" "$log")" -ge 1 ]
ok $? "... and heapwatchd says why"
start=$(date +%s%N)
curl -fs --max-time 5 "$HWD_URL/-/healthy" >/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 0 ] && [ "$ms" -lt 1000 ]
ok $? "it keeps answering meanwhile (/-/healthy in $ms ms)"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0, bodies waiting"

done_testing
