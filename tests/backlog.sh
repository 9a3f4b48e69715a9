#!/usr/bin/env bash
# heapwatchd with more to decode than its workers can take: 300 targets
# serve a 1 MiB gzip that inflates past the 256 MiB cap, each costing a
# worker a tenth of a second or more, every 2 s. The bodies being fetched
# and waiting stay near their cap (300 MiB without it): 16 MiB, of which
# targets not known to serve profiles take half; beyond, scrapes wait to
# start. Once 8 MiB of bodies wait, the scrapes of
# the targets whose last body did not decode are skipped and counted as
# result="skipped", and the daemon says so;
# a good target beside them is never skipped and stays up, and the loop
# keeps answering. None of it depends on how fast the machine decodes:
# 300 bombs take the workers at least 10 s, far longer than it takes to
# scrape them all, whatever the machine.
. "$(dirname "$0")/lib.sh"

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
badtarget_start || { ok 1 "badtarget starts"; done_testing; exit; }
B=$STARTED_URL
{
	config_head 20s 10s | sed 's/interval: 1s/interval: 2s/;
	    s/timeout: 500ms/timeout: 1s/'
	printf '  - name: good\n    url: %s/debug/pprof/heap\n' "$F"
	printf '    interval: 10s\n'
	printf '  - name: steady\n    url: %s/profile?t=steady\n' "$B"
} >"$TMPD/hw.yaml"
log=$TMPD/heapwatchd.log
daemon_start "$TMPD/hw.yaml" "$log" ||
    { ok 1 "heapwatchd starts"; done_testing; exit; }
# The good target is known to serve profiles before the bombs come: at
# start-up no target is, and its first body would wait behind theirs.
is_up() { [ "$(target_field good health)" = up ] &&
    [ "$(target_field steady health)" = up ]; }
wait_for 60 is_up
ok $? "the good target is up"
for i in $(seq 1 300); do
	printf '  - name: bomb%d\n    url: %s/fieldbomb?t=bomb%d\n' "$i" "$B" "$i"
done >>"$TMPD/hw.yaml"
kill -HUP "$HWD_PID"

# scraped RESULT [NAME-REGEX]: the scrapes of that result, summed.
scraped() {
	curl -fs --max-time 5 "$HWD_URL/metrics" |
	    awk -v r="result=\"$1\"" -v n="target=\"${2:-[^\"]*}\"" '
	    /^heapwatch_scrapes_total\{/ && index($0, r) && $0 ~ n {s += $2}
	    END {print s + 0}'
}
# Each look at the skips notes the backlog's bytes and waiting scrapes.
skipping() {
	curl -fs --max-time 5 "$HWD_URL/metrics" | awk '
	    /^heapwatch_scrape_backlog_bytes / {b = $2}
	    /^heapwatch_scrapes_waiting / {w = $2}
	    END {print b + 0, w + 0}' >>"$TMPD/backlog"
	[ "$(scraped skipped 'bomb[0-9]+')" -gt 0 ]
}
wait_for 60 skipping
ok $? "with the workers behind, bomb targets are skipped ($(scraped skipped 'bomb[0-9]+'))"
# The gate is asked before a transfer starts, and a new target's body
# size is not known until it comes: a transfer counts 256 KiB until
# then, and its room doubles as the body, just over 1 MiB, comes in. So
# the bombs' transfers under way at the 8 MiB their class may take, 32,
# pass it by some 56 MiB at worst, but the 300 would by 600.
read -r maxb maxw < <(awk '$1 > b {b = $1} $2 > w {w = $2}
    END {print b + 0, w + 0}' "$TMPD/backlog")
[ "$maxb" -gt 0 ] && [ "$maxb" -le $((96 << 20)) ]
ok $? "the bodies fetched and waiting stay under their cap and a few more ($maxb bytes at most)"
[ "$maxw" -gt 0 ]
ok $? "... as scrapes wait to start meanwhile ($maxw at most)"
# The warning comes when scrapes first wait at the cap, or a bomb's own
# scrape is skipped for the bodies waiting, which may be a moment after
# the first skip counted (an interval a waiting scrape missed).
said_why() { grep -q "the decoding workers are behind" "$log"; }
wait_for 60 said_why
ok $? "... and heapwatchd says why"
start=$(date +%s%N)
curl -fs --max-time 5 "$HWD_URL/-/healthy" >/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 0 ] && [ "$ms" -lt 5000 ]
ok $? "it keeps answering meanwhile (/-/healthy in $ms ms)"

# The good target's scrape starts before the bombs' waiting and its body
# is decoded before theirs (a worker takes it as soon as it is done with
# the bomb in hand), so that its scrapes are never skipped: it goes on
# being scraped while the bombs wait. (Its interval, 10 s, is far longer
# than a bomb takes a worker: a scrape and its decoding never take two.)
s1=$(scraped success good)
grown() { [ "$(scraped success good)" -gt "$((s1 + 1))" ]; }
wait_for 60 grown
ok $? "the good target is still scraped: $s1, then $(scraped success good) successes"
[ "$(scraped skipped good)" -eq 0 ] && [ "$(target_field good health)" = up ]
ok $? "... never skipped, and up"
# No bomb is taken for a profile. (On a busy machine some transfers time
# out: failed. A bomb may be skipped before its first body is counted
# invalid: the intervals its first scrape waited to start.)
curl -fs --max-time 5 "$HWD_URL/metrics" >"$TMPD/metrics"
awk '/^heapwatch_scrapes_total\{target="bomb/ {
	split($0, a, "\""); n[a[2]] += 0
	if (a[4] == "invalid") inv[a[2]] = $2
	if (a[4] == "skipped") skip[a[2]] = $2
	if (a[4] == "success") other[a[2]] += $2 }
    END { for (t in n) { if (other[t] > 0) bad++; if (skip[t] > 0) s++; if (inv[t] > 0) i++ }
	print length(n), i + 0, s + 0, bad + 0 }' "$TMPD/metrics" >"$TMPD/bombs"
read -r nb ni ns nbad <"$TMPD/bombs"
[ "$nb" -eq 300 ] && [ "$ni" -ge 1 ] && [ "$ns" -ge 1 ] && [ "$nbad" -eq 0 ]
ok $? "of $nb bombs, $ni counted invalid, $ns skipped, none a success ($nbad)"
# A target's scrapes never overlap: while its last scrape waits to
# start, or its body waits behind the others (seconds, intervals), it is
# not asked again, and the intervals missed are skipped. badtarget saw at
# most one request of each target under way at once: of the bombs and
# of a target serving profiles beside them, asked again and again.
curl -fs --max-time 5 "$B/peak" >"$TMPD/peak"
curl -fs --max-time 5 "$B/hits" >"$TMPD/hits"
read -r np nmax < <(awk '$1 ~ /^(bomb|steady)/ {n++; if ($2 > m) m = $2}
    END {print n + 0, m + 0}' "$TMPD/peak")
again=$(awk '$1 == "steady" {print $2}' "$TMPD/hits")
[ "$np" -ge 10 ] && [ "${again:-0}" -ge 3 ] && [ "$nmax" -eq 1 ]
ok $? "no two scrapes of a target were under way at once ($np targets asked, steady $again times, at most $nmax at once)"

# With the bombs gone, the backlog drains: the wait open at the reload
# ends with "caught up", and the first end gives the memory the bodies
# took back to the system (those in the next 10 minutes are put off):
# the daemon says how much, and its resident set then, which must be
# well under the peak. What the trim finds depends on what glibc gave
# back by itself as the bodies were freed (4 to 21 MiB here).
waits() { grep -c "scrapes wait to start until they catch up" "$log"; }
ends() { grep -c "the decoding workers caught up" "$log"; }
waiting_now() { [ "$(waits)" -gt "$(ends)" ]; }
wait_for 60 waiting_now
ok $? "scrapes wait for the backlog ($(waits) waits, $(ends) ends)"
e0=$(ends)
cp "$TMPD/hw.yaml" "$TMPD/bombs.yaml"
grep -v '^  - name: bomb\|/fieldbomb' "$TMPD/bombs.yaml" >"$TMPD/hw.yaml"
kill -HUP "$HWD_PID"
ended() { [ "$(ends)" -gt "$e0" ] && [ "$(ends)" -eq "$(waits)" ]; }
wait_for 60 ended
ok $? "without the bombs the workers catch up, and heapwatchd says so ($(waits) waits, $(ends) ends)"
# (AddressSanitizer's allocator keeps freed memory in its quarantine,
# which glibc's trim does not reach; without glibc, there is no trim.)
if grep -q '^#define HAVE_MALLOC_TRIM 1' "$top_builddir/config.h" &&
    ! ldd "$HEAPWATCHD" 2>/dev/null | grep -q libasan; then
	trimmed() { grep -q "the memory the backlog took is given back" "$log"; }
	wait_for 10 trimmed
	peak=$(awk '$1 == "VmHWM:" {print $2 * 1024}' "/proc/$HWD_PID/status")
	read -r back after < <(sed -n 's/.*the memory the backlog took is given back: \([0-9.]*\) MiB in [0-9.]* ms, resident \([0-9.]*\) MiB.*/\1 \2/p' "$log" | head -1)
	awk -v b="${back:-0}" -v a="${after:-0}" -v p="$peak" \
	    'BEGIN {exit !(b >= 1 && a > 0 && a * 1048576 < p * 0.75)}'
	ok $? "... giving back what the backlog took: ${back:-?} MiB, resident ${after:-?} MiB, the peak $((peak >> 20)) MiB"
else
	echo "# the trim is not checked: no malloc_trim(), or AddressSanitizer"
fi

# The bombs again, for a stop with bodies waiting.
: >"$TMPD/backlog"
cp "$TMPD/bombs.yaml" "$TMPD/hw.yaml"
kill -HUP "$HWD_PID"
full() { skipping && [ "$(tail -1 "$TMPD/backlog" | cut -d' ' -f1)" -gt 0 ] 2>/dev/null; }
wait_for 60 full
ok $? "with the bombs back, bodies wait again"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0, bodies waiting"

done_testing
