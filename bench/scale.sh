#!/usr/bin/env bash
# What heapwatchd costs at scale (figures, not a test): N targets, each
# serving a ~150 KB heap profile (bench/genprof: 3,000 samples of a program
# of 400 functions) from one local server, scraped every INTERVAL seconds
# (10). Each target is a service that collects garbage every GC scrapes
# (1: at every one): its profile, as of the last GC, changes every GC
# requests (genprof's pair in turn), and its time at every one
# (bench/profserve -gc). For each N it prints, over a steady minute
# (STEADY seconds) after a warm-up that has every target scraped and
# retention at work (WARMUP seconds, by default four and a half
# intervals):
#
#   - the daemon's CPU time per scraped profile, against what zlib alone
#     needs to gunzip the profiles served (bench/zcat2.c on them 500
#     times), and the scrapes that repeated the last profile;
#   - the profiles decoded a second (successful scrapes), the scrapes
#     skipped (intervals a target's last scrape was still under way), and
#     the backlog at the end: bytes of bodies fetched or waiting for the
#     workers, scrapes waiting to start;
#   - its peak RSS (VmHWM) and RSS at the end, and that RSS a target;
#   - /metrics under wrk (2 threads, 8 connections, 15 s), as text and
#     gzipped (Accept-Encoding: gzip, as Prometheus asks): requests per
#     second and the latency percentiles wrk prints, p99 among them;
#     beside them what a render costs the loop, how long the loop thread
#     waited for a core meanwhile, and /-/healthy under the same wrk,
#     the loop's own latency with nothing to render or send.
#
#   bench/scale.sh [BUILD-DIR] [N...]        (default N: 100 1000 5000)
#   INTERVAL=30 bench/scale.sh _build/plain 10000
#   GC=12 bench/scale.sh _build/plain 1000   (a GC every 2 minutes)
#   FORMAT=pack bench/scale.sh _build/plain 1000   (the packed store)
#   PAIR="A.pb.gz B.pb.gz" bench/scale.sh _build/plain 300
#                              (that pair served, rather than genprof's)
#
# Needs go, wrk and jq. Writes under _build/bench-scale (the stores take
# N x 5 profiles of disk each).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/config.sh"
build=${1:-$top/_build/plain}
shift || true
sizes=${*:-100 1000 5000}
work=$top/_build/bench-scale
steady=${STEADY:-60}
interval=${INTERVAL:-10}
gc=${GC:-1}
warmup=${WARMUP:-$((interval * 9 / 2))}
rm -rf "$work"
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
(cd "$top/bench/profserve" && go build -o "$work/profserve" .)
cc -O2 -o "$work/zcat2" "$top/bench/zcat2.c" -lz
cc -O2 -o "$work/runs" "$top/bench/runs.c"
if [ -n "${PAIR:-}" ]; then
	set -- $PAIR
	cp "$1" "$work/heap.pb.gz"
	cp "$2" "$work/other.pb.gz"
else
	"$work/genprof" -samples 3000 -functions 400 "$work/heap.pb.gz" \
	    "$work/other.pb.gz" 2>/dev/null
fi
prof=$work/heap.pb.gz
raw=$(gzip -dc "$prof" | wc -c)

pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
"$work/profserve" -listen 127.0.0.1:0 -gc "$gc" "$prof" "$work/other.pb.gz" \
    >"$work/profserve.out" &
pids+=($!)
sleep 1
url=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$work/profserve.out")

# zlib's floor: CPU to gunzip the profiles as served, per profile (median
# of 5 runs of 500 gunzips each, half of each): the first request of a
# path gets the one, the GC+1st the other.
for i in $(seq 0 "$gc"); do
	curl -fs -o "$work/served-$i.pb.gz" "$url/zlib/debug/pprof/heap"
done
set -- $(for _ in $(seq 1 250); do echo "$work/served-0.pb.gz"; \
    echo "$work/served-$gc.pb.gz"; done)
zlib_ms=$("$work/runs" 5 "$work/zcat2" "$@" |
    sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p')
zlib_us=$(echo "$zlib_ms * 1000 / 500" | bc -l)
printf 'profiles: %d and %d bytes gzipped as served, %d bytes raw; zlib gunzips one in %.0f us of CPU; a GC every %d scrapes\n' \
    "$(wc -c <"$work/served-0.pb.gz")" "$(wc -c <"$work/served-$gc.pb.gz")" \
    "$raw" "$zlib_us" "$gc"

ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# scrapes [RESULT]: the scrapes of that result (success), summed.
scrapes() {
	curl -fs --max-time 30 "http://127.0.0.1:$port/metrics" |
	    awk -v r="result=\"${1:-success}\"" '
	    /^heapwatch_scrapes_total\{/ && index($0, r) {n += $2}
	    END {print n + 0}'
}
# gauge NAME: a gauge of the daemon's own, or "-" without it.
gauge() {
	curl -fs --max-time 30 "http://127.0.0.1:$port/metrics" |
	    awk -v m="$1" '$1 == m {v = $2} END {print v == "" ? "-" : v}'
}
status_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

for n in $sizes; do
	port=$((20000 + RANDOM % 12000))
	# A new folder each time: files just deleted make ext4 slower to
	# create the next ones, which would be the bench's cost, not the
	# daemon's. Retention keeps four snapshots of each target, and is
	# at work once the warm-up is over, as in a daemon long running.
	bench_config "$port" "$work/store-$n" "$url" "$n" "$interval" 5 \
	    >"$work/hw.yaml"
	"$build/heapwatchd" -R -c "$work/hw.yaml" >"$work/heapwatchd.log" 2>&1 &
	hwd=$!
	pids+=($hwd)
	# Every target is scraped once within its first interval; after
	# four more, retention removes a snapshot at each scrape.
	sleep "$warmup"
	c0=$(cpu_ticks "$hwd")
	s0=$(scrapes)
	k0=$(scrapes skipped)
	r0=$(gauge heapwatch_scrape_repeats_total)
	t0=$(date +%s.%N)
	sleep "$steady"
	c1=$(cpu_ticks "$hwd")
	s1=$(scrapes)
	k1=$(scrapes skipped)
	r1=$(gauge heapwatch_scrape_repeats_total)
	t1=$(date +%s.%N)
	backlog="$(gauge heapwatch_scrape_backlog_bytes) bytes, $(gauge \
	    heapwatch_scrapes_waiting) scrapes waiting"
	wrk -t2 -c8 -d15s --latency "http://127.0.0.1:$port/metrics" \
	    >"$work/wrk-$n.txt" 2>&1
	# The loop thread's wait for a core (schedstat's run delay) over
	# the gzipped run: what a busy machine adds to every request.
	d0=$(awk '{print $2}' "/proc/$hwd/task/$hwd/schedstat")
	wrk -t2 -c8 -d15s --latency -H 'Accept-Encoding: gzip' \
	    "http://127.0.0.1:$port/metrics" >"$work/wrkgz-$n.txt" 2>&1
	d1=$(awk '{print $2}' "/proc/$hwd/task/$hwd/schedstat")
	# The loop's floor: /-/healthy, which costs nothing to answer.
	wrk -t2 -c8 -d10s --latency "http://127.0.0.1:$port/-/healthy" \
	    >"$work/wrkhealthy-$n.txt" 2>&1
	cpu_ms=$(echo "($c1 - $c0) * 1000 / $ticks" | bc -l)
	per_us=$(echo "$cpu_ms * 1000 / ($s1 - $s0)" | bc -l)
	printf '\n%d targets: %d scrapes in %.0f s; daemon CPU %.0f ms (%.1f%% of a core)\n' \
	    "$n" $((s1 - s0)) "$(echo "$t1 - $t0" | bc -l)" "$cpu_ms" \
	    "$(echo "$cpu_ms / 10 / ($t1 - $t0)" | bc -l)"
	printf '  CPU per scraped profile %.0f us = %.2f x zlib gunzip; %s\n' \
	    "$per_us" "$(echo "$per_us / $zlib_us" | bc -l)" \
	    "$([ "$r0" = - ] && echo "repeats not counted" ||
	    printf '%d repeats, not decoded' $((r1 - r0)))"
	printf '  %.1f profiles decoded a second of %.1f due, %.1f scrapes skipped a second; backlog %s\n' \
	    "$(echo "($s1 - $s0) / ($t1 - $t0)" | bc -l)" \
	    "$(echo "$n / $interval" | bc -l)" \
	    "$(echo "($k1 - $k0) / ($t1 - $t0)" | bc -l)" "$backlog"
	printf '  peak RSS %.1f MiB, RSS now %.1f MiB: %.1f KB a target\n' \
	    "$(echo "$(status_kib "$hwd" VmHWM) / 1024" | bc -l)" \
	    "$(echo "$(status_kib "$hwd" VmRSS) / 1024" | bc -l)" \
	    "$(echo "$(status_kib "$hwd" VmRSS) * 1.024 / $n" | bc -l)"
	for w in wrk wrkgz; do
		printf '  /metrics %s %d bytes; wrk: %s req/s, latency %s\n' \
		    "$([ $w = wrk ] && echo text || echo gzipped)" \
		    "$(curl -fs -H "Accept-Encoding: $([ $w = wrk ] ||
		    echo gzip)" "http://127.0.0.1:$port/metrics" | wc -c)" \
		    "$(awk '/^Requests\/sec/ {print $2}' "$work/$w-$n.txt")" \
		    "$(awk '/^ +(50|90|99)%/ {printf "p%s %s ", $1, $2}' \
		    "$work/$w-$n.txt" | sed 's/%//g')"
		grep -h "Socket errors\|Non-2xx" "$work/$w-$n.txt" || true
	done
	printf '  /metrics: a render takes the loop %s s (in slices); the loop waited for a core %.0f ms a second under wrk gzipped\n' \
	    "$(gauge heapwatch_metrics_render_seconds)" \
	    "$(echo "($d1 - $d0) / 1000000 / 15" | bc -l)"
	printf '  /-/healthy (the loop alone): wrk: %s req/s, latency %s\n' \
	    "$(awk '/^Requests\/sec/ {print $2}' "$work/wrkhealthy-$n.txt")" \
	    "$(awk '/^ +(50|90|99)%/ {printf "p%s %s ", $1, $2}' \
	    "$work/wrkhealthy-$n.txt" | sed 's/%//g')"
	kill "$hwd"
	wait "$hwd" 2>/dev/null || true
done
