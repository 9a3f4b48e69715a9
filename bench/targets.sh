#!/usr/bin/env bash
# What a target costs heapwatchd once the workers keep up (figures, not a
# test): N targets (10,000) each serving bench/genprof's ~150 KB heap
# profile, scraped every INTERVAL seconds (120: long enough for 2 cores to
# decode every profile, so that no body waits and what is left is the
# targets' own), a window of 3 intervals. Every 15 s for DURATION (255 s, two
# cycles and a bit) it prints the successful scrapes so far, the RSS and
# its peak; then the RSS a target at the end. bench/scale.sh measures the
# daemon behind on its scrapes.
#
#   bench/targets.sh [BUILD-DIR] [N]
#   INTERVAL=60 DURATION=135 bench/targets.sh _build/plain 5000
#
# Needs go. Writes under _build/bench-targets.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/config.sh"
build=${1:-$top/_build/plain}
n=${2:-10000}
interval=${INTERVAL:-120}
secs=${DURATION:-255}
work=$top/_build/bench-targets
rm -rf "$work"
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
(cd "$top/bench/profserve" && go build -o "$work/profserve" .)
"$work/genprof" -samples 3000 -functions 400 "$work/heap.pb.gz" \
    "$work/other.pb.gz" 2>/dev/null

pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
"$work/profserve" -listen 127.0.0.1:0 "$work/heap.pb.gz" \
    >"$work/profserve.out" &
pids+=($!)
sleep 1
url=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$work/profserve.out")
port=$((20000 + RANDOM % 12000))
bench_config "$port" "$work/store" "$url" "$n" "$interval" \
    $((interval / 2)) >"$work/hw.yaml"
"$build/heapwatchd" -R -c "$work/hw.yaml" >"$work/heapwatchd.log" 2>&1 &
hwd=$!
pids+=($hwd)
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$hwd/status"; }
t=0
while [ "$t" -lt "$secs" ]; do
	sleep 15
	t=$((t + 15))
	s=$(curl -fs --max-time 60 "http://127.0.0.1:$port/metrics" |
	    awk '/^heapwatch_scrapes_total\{.*result="success"/ {n += $2}
	    END {print n + 0}')
	printf '%4d s: %6d scrapes, RSS %.1f MiB, peak %.1f MiB\n' "$t" "$s" \
	    "$(echo "$(status_kib VmRSS) / 1024" | bc -l)" \
	    "$(echo "$(status_kib VmHWM) / 1024" | bc -l)"
done
printf '%d targets every %d s: RSS %.1f MiB, %.1f KB a target\n' "$n" \
    "$interval" "$(echo "$(status_kib VmRSS) / 1024" | bc -l)" \
    "$(echo "$(status_kib VmRSS) * 1.024 / $n" | bc -l)"
