#!/usr/bin/env bash
# The speed benchmark of heapwatch diff (not a test: it prints figures).
#
#   bench/run.sh [BUILD-DIR]
#
# On a production-sized pair of heap profiles made by bench/genprof
# (60,000 samples, over 6 MB each uncompressed), it measures, as medians of
# several whole-process runs, with peak RSS:
#   - zlib alone gunzipping both files (bench/zcat2.c), the floor;
#   - heapwatch diff, text and --json, and heapwatch top;
#   - go tool pprof -top -base on the same pair.
# The goals: diff within 2x of zlib, 40x faster than pprof, under 64 MiB.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
work=$top/_build/bench-run
runs=${RUNS:-11}
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"

[ -x "$build/heapwatch" ] || {
	echo "bench: no $build/heapwatch: run ./check.sh or build first" >&2
	exit 1
}
hw=$build/heapwatch
cc -O2 -o "$work/zcat2" "$top/bench/zcat2.c" -lz
cc -O2 -o "$work/runs" "$top/bench/runs.c"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
[ -f "$work/base.pb.gz" ] ||
    "$work/genprof" "$work/base.pb.gz" "$work/cur.pb.gz"
base=$work/base.pb.gz
cur=$work/cur.pb.gz

# measure KEY NAME N COMMAND...: prints NAME, the median wall and CPU time
# and the peak RSS, and keeps them as KEY_ms and KEY_kib.
measure() {
	local key=$1 name=$2 n=$3 out
	shift 3
	out=$("$work/runs" "$n" "$@")
	eval "$out"
	printf '%-34s %9.1f ms %9.1f ms cpu %8.1f MiB\n' "$name" \
	    "$wall_ms" "$cpu_ms" "$(echo "$maxrss_kib / 1024" | bc -l)"
	eval "${key}_ms=$wall_ms; ${key}_kib=$maxrss_kib"
}

echo "pair: $(stat -c %s "$base") + $(stat -c %s "$cur") bytes gzip," \
    "$(zcat "$base" | wc -c) + $(zcat "$cur" | wc -c) uncompressed"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
measure zlib "zlib gunzip both" "$runs" "$work/zcat2" "$base" "$cur"
measure diff "heapwatch diff" "$runs" "$hw" diff "$base" "$cur"
measure json "heapwatch diff --json" "$runs" "$hw" diff --json "$base" "$cur"
measure top "heapwatch top" "$runs" "$hw" top "$cur"
measure pprof "go tool pprof -top -base" 3 go tool pprof -top "-base=$base" \
    "$cur"
"$hw" diff --times "$base" "$cur" 2>&1 >/dev/null | sed 's/^/  /'

echo
printf 'diff / zlib:  %.2fx (goal <= 2)\n' \
    "$(echo "$diff_ms / $zlib_ms" | bc -l)"
printf 'pprof / diff: %.1fx (goal >= 40)\n' \
    "$(echo "$pprof_ms / $diff_ms" | bc -l)"
printf 'diff peak:    %.1f MiB (goal < 64)\n' \
    "$(echo "$diff_kib / 1024" | bc -l)"
