#!/usr/bin/env bash
# The kernel's share of heapwatchd's CPU per scraped profile (figures, not
# a test): N targets (1000) of bench/scale.sh's profile server, every
# INTERVAL seconds (10), retention keeping four snapshots. Each build
# given is run in turn, ROUNDS times (3), so that a busy machine weighs on
# all alike; for each run, over STEADY seconds (40) after a warm-up of
# four and a half intervals, it prints the daemon's user and system CPU a
# profile (utime and stime of /proc/PID/stat), their sum against zlib's
# gunzip of the profile, and the read and write calls and bytes a profile
# (/proc/PID/io); then the median of each build. With STRACE=SECONDS, a
# last run of each build is traced (strace -c -f) for that long, and the
# system calls a profile printed, most first: strace slows the daemon, so
# those runs give counts, not times.
#
#   bench/kernel.sh BUILD-DIR [BUILD-DIR...]
#   ROUNDS=5 STRACE=20 bench/kernel.sh /tmp/old/_build/plain _build/plain
#
# Needs go and strace. Writes under _build/bench-kernel.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/config.sh"
[ $# -ge 1 ] || { echo "usage: bench/kernel.sh BUILD-DIR..." >&2; exit 2; }
builds=("$@")
n=${N:-1000}
interval=${INTERVAL:-10}
steady=${STEADY:-40}
rounds=${ROUNDS:-3}
trace=${STRACE:-0}
warmup=${WARMUP:-$((interval * 9 / 2))}
work=$top/_build/bench-kernel
rm -rf "$work"
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
(cd "$top/bench/profserve" && go build -o "$work/profserve" .)
cc -O2 -o "$work/zcat2" "$top/bench/zcat2.c" -lz
cc -O2 -o "$work/runs" "$top/bench/runs.c"
"$work/genprof" -samples 3000 -functions 400 "$work/heap.pb.gz" \
    "$work/other.pb.gz" 2>/dev/null
prof=$work/heap.pb.gz

pids=()
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
# Two profiles in turn, a GC at every scrape: each one is decoded (one
# file alone would be a repeat at every scrape; see bench/profserve).
"$work/profserve" -listen 127.0.0.1:0 -gc 1 "$prof" "$work/other.pb.gz" \
    >"$work/profserve.out" &
pids+=($!)
sleep 1
url=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$work/profserve.out")

set -- $(for _ in $(seq 1 500); do echo "$prof"; done)
zlib_ms=$("$work/runs" 5 "$work/zcat2" "$@" |
    sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p')
zlib_us=$(echo "$zlib_ms * 1000 / 500" | bc -l)
printf '%d targets every %d s; zlib gunzips the profile in %.0f us of CPU\n' \
    "$n" "$interval" "$zlib_us"

ticks=$(getconf CLK_TCK)
scrapes() {
	curl -fs --max-time 30 "http://127.0.0.1:$port/metrics" |
	    awk '/^heapwatch_scrapes_total\{/ && index($0, "result=\"success\"") {
	    n += $2} END {print n + 0}'
}
# stat PID: utime stime (ticks); io PID: syscr syscw rchar wchar.
stat() { awk '{print $14, $15}' "/proc/$1/stat"; }
io() {
	awk '$1 == "syscr:" {r = $2} $1 == "syscw:" {w = $2}
	    $1 == "rchar:" {rc = $2} $1 == "wchar:" {wc = $2}
	    END {print r, w, rc, wc}' "/proc/$1/io"
}

# start BUILD: the daemon on a new store, warmed up; sets hwd and port.
start() {
	port=$((20000 + RANDOM % 12000))
	rm -rf "$work/store"
	bench_config "$port" "$work/store" "$url" "$n" "$interval" 5 \
	    >"$work/hw.yaml"
	"$1/heapwatchd" -R -c "$work/hw.yaml" >"$work/heapwatchd.log" 2>&1 &
	hwd=$!
	pids+=($hwd)
	sleep "$warmup"
}
stop() {
	kill "$hwd"
	wait "$hwd" 2>/dev/null || true
}

: >"$work/runs.txt"
for r in $(seq 1 "$rounds"); do
	for b in "${builds[@]}"; do
		start "$b"
		set -- $(stat "$hwd") $(io "$hwd")
		u0=$1 k0=$2 sr0=$3 sw0=$4 rc0=$5 wc0=$6
		p0=$(scrapes)
		sleep "$steady"
		set -- $(stat "$hwd") $(io "$hwd")
		u1=$1 k1=$2 sr1=$3 sw1=$4 rc1=$5 wc1=$6
		p1=$(scrapes)
		load=$(cut -d' ' -f1 /proc/loadavg)
		stop
		p=$((p1 - p0))
		awk -v b="$b" -v p="$p" -v t="$ticks" -v z="$zlib_us" \
		    -v u=$((u1 - u0)) -v k=$((k1 - k0)) -v l="$load" \
		    -v sr=$((sr1 - sr0)) -v sw=$((sw1 - sw0)) \
		    -v rc=$((rc1 - rc0)) -v wc=$((wc1 - wc0)) 'BEGIN {
		    us = u * 1e6 / t / p; ks = k * 1e6 / t / p
		    printf "%s\t%.0f\t%.0f\t%.0f\t%.2f\t%.1f\t%.1f\t%.0f\t%.0f\t%s\t%d\n",
		    b, us + ks, us, ks, (us + ks) / z, sr / p, sw / p,
		    rc / p, wc / p, l, p}' | tee -a "$work/runs.txt" |
		    awk -F'\t' '{printf "%s: %s us a profile (user %s, system %s = %.0f%%), %s x zlib; reads %s, writes %s (%s and %s bytes) a profile; %s profiles, load %s\n",
		    $1, $2, $3, $4, $4 * 100 / $2, $5, $6, $7, $8, $9, $11, $10}'
	done
done
echo
for b in "${builds[@]}"; do
	awk -F'\t' -v b="$b" '$1 == b' "$work/runs.txt" | sort -t"$(printf '\t')" -k2,2n |
	    awk -F'\t' '{v[NR] = $0} END {split(v[int((NR + 1) / 2)], m, "\t")
	    printf "median %s: %s us a profile, user %s, system %s (%.0f%%), %s x zlib\n",
	    m[1], m[2], m[3], m[4], m[4] * 100 / m[2], m[5]}'
done
[ "$trace" -gt 0 ] || exit 0
for b in "${builds[@]}"; do
	start "$b"
	p0=$(scrapes)
	timeout -s INT "$trace" strace -c -f -q -p "$hwd" -o "$work/strace.txt" \
	    2>/dev/null || true
	p1=$(scrapes)
	stop
	echo
	echo "$b: system calls a profile under strace ($((p1 - p0)) profiles)"
	awk -v p=$((p1 - p0)) '$1 ~ /^[0-9.]+$/ && NF >= 5 {
	    printf "  %-16s %7.2f\n", $NF, $4 / p}' "$work/strace.txt" |
	    sort -k2,2nr | head -25
done
