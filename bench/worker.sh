#!/usr/bin/env bash
# What one of heapwatchd's workers spends on a scraped profile, the store
# aside (figures, not a test; see bench/worker.c): decoding it and
# summarising it, against zlib alone gunzipping it
# (bench/zcat2.c), on each profile of bench/parse.sh's set (genprof,
# deep, the fixture's "many" when tests/pprof_compare.sh has left it in
# BUILD-DIR) and on bench/scale.sh's profile of 146 KB (scale). For each:
#
#   - CPU time a profile, as the median of RUNS (5) runs of N profiles
#     each, of the worker and of zlib, with the ratio: figures of one
#     run, side by side, which the load of a shared machine moves
#     together;
#   - with valgrind, the instructions a profile (callgrind's count for N
#     profiles less that for one, over N - 1), of the worker and of zlib:
#     figures the load does not move.
#
#   bench/worker.sh [BUILD-DIR]
#
# Writes under _build/bench-worker.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
build=$(cd "$build" && pwd)
work=$top/_build/bench-worker
runs=${RUNS:-5}
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"
[ -f "$build/src/libheapwatch.a" ] || {
	echo "bench: no $build/src/libheapwatch.a: build first" >&2
	exit 1
}
# shellcheck disable=SC2046
cc -O2 -I"$build" -I"$top/src" -o "$work/worker" "$top/bench/worker.c" \
    "$build/src/libheapwatch.a" $(pkg-config --libs libprotobuf-c zlib \
    libdeflate libxxhash libzstd sqlite3) -lm -lpthread
cc -O2 -o "$work/zcat2" "$top/bench/zcat2.c" -lz
cc -O2 -o "$work/runs" "$top/bench/runs.c"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
[ -f "$work/scale.pb.gz" ] ||
    "$work/genprof" -samples 3000 -functions 400 "$work/scale.pb.gz" \
    "$work/scale-b.pb.gz" 2>/dev/null
[ -f "$work/genprof.pb.gz" ] ||
    "$work/genprof" "$work/genprof.pb.gz" "$work/genprof-b.pb.gz"
[ -f "$work/deep.pb.gz" ] ||
    "$work/genprof" -samples 75000 -functions 480 -calls 1-2 -depth 6-29 \
    "$work/deep.pb.gz" "$work/deep-b.pb.gz"
set -- scale "$work/scale.pb.gz" genprof "$work/genprof.pb.gz" \
    deep "$work/deep.pb.gz"
many=$build/tests/profiles/many-a.pb.gz
[ ! -f "$many" ] || set -- "$@" many "$many"

# cpu_ms COMMAND...: the median CPU time of RUNS runs of COMMAND.
cpu_ms() {
	"$work/runs" "$runs" "$@" | sed -n 's/.*cpu_ms=\([0-9.]*\).*/\1/p'
}
# ir COMMAND...: the instructions callgrind counts for COMMAND.
ir() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
	    >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

echo "load: $(uptime | sed 's/.*load/load/')"
while [ $# -gt 0 ]; do
	name=$1 file=$2
	shift 2
	raw=$(gzip -dc "$file" | wc -c)
	# Some 2 s of work a run.
	n=$((400000000 / (raw + 1) / 4 + 3))
	zl=$(cpu_ms "$work/zcat2" $(for _ in $(seq 1 "$n"); do echo "$file"; done))
	wk=$(cpu_ms "$work/worker" "$n" "$file")
	printf '%s: %d bytes gzipped, %d raw; a profile: zlib %.0f us, worker %.0f us (%.2f x zlib)\n' \
	    "$name" "$(wc -c <"$file")" "$raw" \
	    "$(echo "$zl * 1000 / $n" | bc -l)" \
	    "$(echo "$wk * 1000 / $n" | bc -l)" "$(echo "$wk / $zl" | bc -l)"
	if command -v valgrind >/dev/null; then
		k=5
		z1=$(ir "$work/zcat2" "$file")
		zk=$(ir "$work/zcat2" $(for _ in $(seq 1 "$k"); do echo "$file"; done))
		w1=$(ir "$work/worker" 1 "$file")
		wk=$(ir "$work/worker" "$k" "$file")
		zi=$(( (zk - z1) / (k - 1) ))
		wi=$(( (wk - w1) / (k - 1) ))
		printf '  instructions a profile: zlib %d, worker %d (%.2f x zlib, %.1f a byte)\n' \
		    "$zi" "$wi" "$(echo "$wi / $zi" | bc -l)" \
		    "$(echo "$wi / $raw" | bc -l)"
	fi
done
