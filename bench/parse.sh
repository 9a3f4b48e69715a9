#!/usr/bin/env bash
# The decoder's benchmark (not a test: it prints figures), on one pair of
# heap profiles of each kind:
#   - genprof: bench/genprof's default, 60,000 samples of a large program
#     (about 40,000 locations), which inflates slowly (2:1 gzip);
#   - deep: 75,000 distinct stacks up to 29 frames deep over 480 functions
#     and about a thousand locations, as a real service with a deep, varied
#     call graph gives, which compresses better and costs more to parse;
#   - many: the test fixture's "many" pair, when tests/pprof_compare.sh has
#     left it in BUILD-DIR/tests/profiles.
#
#   bench/parse.sh [BUILD-DIR]
#
# For each, as medians of whole-process runs: the protobuf parsed per
# second by `heapwatch top --times` (decompressed bytes over its parse
# time; and over the fastest run's, which the load of other work on a
# shared machine spreads least), the inflate time, `heapwatch diff` against zlib gunzipping both
# files (bench/zcat2.c) and against `go tool pprof -top -base`, with peak
# RSS and page faults (with perf, those taken as exceptions too); with
# valgrind, the instructions a byte of protobuf
# that inflating, parsing and interning take, as callgrind counts them.
# The goals: parse >= 300 MB/s, diff >= 60x faster than pprof, under
# 64 MiB, with at most twice gunzip's page faults.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
build=$(cd "$build" && pwd)
work=$top/_build/bench-run
runs=${RUNS:-11}
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"

[ -x "$build/heapwatch" ] || {
	echo "bench: no $build/heapwatch: build first" >&2
	exit 1
}
hw=$build/heapwatch
cc -O2 -o "$work/zcat2" "$top/bench/zcat2.c" -lz
cc -O2 -o "$work/runs" "$top/bench/runs.c"
(cd "$top/bench/genprof" && go build -o "$work/genprof" .)
[ -f "$work/base.pb.gz" ] ||
    "$work/genprof" "$work/base.pb.gz" "$work/cur.pb.gz"
[ -f "$work/deep-a.pb.gz" ] ||
    "$work/genprof" -samples 75000 -functions 480 -calls 1-2 -depth 6-29 \
    "$work/deep-a.pb.gz" "$work/deep-b.pb.gz"

# measure KEY N COMMAND...: keeps the median wall and CPU time, the peak
# RSS and the page faults of COMMAND as KEY_ms, KEY_cpu, KEY_kib, KEY_flt.
measure() {
	local key=$1 n=$2 out
	shift 2
	out=$("$work/runs" "$n" "$@")
	eval "$out"
	eval "${key}_ms=$wall_ms ${key}_cpu=$cpu_ms ${key}_kib=$maxrss_kib" \
	    "${key}_flt=$faults"
}

# exceptions KEY COMMAND...: with perf, the page faults COMMAND takes as
# exceptions, as KEY_exc ("-" without perf). getrusage() also counts the
# pages mapped in ahead by MADV_POPULATE_WRITE, one call for many pages
# with no exception each, which cost far less in a virtual machine.
exceptions() {
	local key=$1 out
	shift
	out=$(perf stat -x, -r 3 -e page-faults "$@" 2>&1 >/dev/null |
	    awk -F, '/page-faults/ { print int($1) }') || out=
	eval "${key}_exc=${out:--}"
}

# median: the median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# instructions FILE: with valgrind, the instructions `heapwatch top` takes
# to inflate FILE, to parse it (profile_parse() less the inflate) and to
# intern it (profile_reduce()), a byte of protobuf, as callgrind counts
# them: figures that do not depend on what else the machine runs, where
# the times above do (the goal of 300 MB/s is some 10 cycles a byte).
instructions() {
	local f=$1 bytes=$2
	command -v valgrind >/dev/null || return 0
	valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
	    "$hw" top "$f" >/dev/null 2>&1 || return 0
	callgrind_annotate --inclusive=yes "$work/callgrind.out" 2>/dev/null |
	    awk -v bytes="$bytes" '
	function num(s) { gsub(",", "", s); return s + 0 }
	function max(a, b) { return a > b ? a : b }
	# A function may be listed under two spellings of its file: the
	# larger figure is the whole of it.
	/=>/ { next }			# calls, under the annotated source
	/profile\.c:profile_parse( |$)/ { parse = max(parse, num($1)) }
	/inflate\.c:inflate_whole( |$)/ { whole = max(whole, num($1)) }
	/inflate\.c:inflate_stream( |$)/ { stream = max(stream, num($1)) }
	/profile\.c:profile_reduce( |$)/ { reduce = max(reduce, num($1)) }
	END {
		inflate = whole + stream
		printf "  instructions a byte: inflate %.1f, parse %.1f," \
		    " intern %.1f (callgrind)\n", inflate / bytes,
		    (parse - inflate) / bytes, reduce / bytes
	}'
}

# bench NAME BASE CURRENT: the figures of one kind of profile.
bench() {
	local name=$1 base=$2 cur=$3 i times parse best inflate bytes
	echo "== $name: $(stat -c %s "$base") + $(stat -c %s "$cur") bytes" \
	    "gzip, $(zcat "$base" | wc -c) + $(zcat "$cur" | wc -c)" \
	    "decompressed"
	: >"$work/times"
	for i in $(seq "$runs"); do
		"$hw" top --times "$cur" 2>>"$work/times" >/dev/null
	done
	# "PATH: N bytes, M decompressed; inflate X ms, parse Y ms, ..."
	bytes=$(awk '/decompressed;/ { print $4; exit }' "$work/times")
	inflate=$(awk '/decompressed;/ { print $7 }' "$work/times" | median)
	parse=$(awk '/decompressed;/ { print $10 }' "$work/times" | median)
	best=$(awk '/decompressed;/ { print $10 }' "$work/times" | sort -g |
	    head -n 1)
	measure zlib "$runs" "$work/zcat2" "$base" "$cur"
	measure diff "$runs" "$hw" diff "$base" "$cur"
	measure pprof 3 go tool pprof -top "-base=$base" "$cur"
	exceptions zlib "$work/zcat2" "$base" "$cur"
	exceptions diff "$hw" diff "$base" "$cur"
	printf '  top --times: inflate %.1f ms, parse %.1f ms: %.0f MB/s' \
	    "$inflate" "$parse" "$(echo "$bytes / $parse / 1000" | bc -l)"
	printf ' (goal >= 300); fastest run %.1f ms: %.0f MB/s\n' "$best" \
	    "$(echo "$bytes / $best / 1000" | bc -l)"
	instructions "$cur" "$bytes"
	printf '  %-26s %8.1f ms %8.1f ms cpu %6.1f MiB %7d faults\n' \
	    "zlib gunzip both" "$zlib_ms" "$zlib_cpu" \
	    "$(echo "$zlib_kib / 1024" | bc -l)" "$zlib_flt" \
	    "heapwatch diff" "$diff_ms" "$diff_cpu" \
	    "$(echo "$diff_kib / 1024" | bc -l)" "$diff_flt" \
	    "go tool pprof -top -base" "$pprof_ms" "$pprof_cpu" \
	    "$(echo "$pprof_kib / 1024" | bc -l)" "$pprof_flt"
	printf '  pprof / diff %.1fx (goal >= 60), diff peak %.1f MiB' \
	    "$(echo "$pprof_ms / $diff_ms" | bc -l)" \
	    "$(echo "$diff_kib / 1024" | bc -l)"
	printf ' (goal < 64), faults / gunzip %.2fx (goal <= 2)\n' \
	    "$(echo "$diff_flt / $zlib_flt" | bc -l)"
	[ "$diff_exc" = - ] ||
	    printf '  fault exceptions (perf): gunzip %d, diff %d: %.2fx\n' \
	    "$zlib_exc" "$diff_exc" "$(echo "$diff_exc / $zlib_exc" | bc -l)"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo |
    cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
bench genprof "$work/base.pb.gz" "$work/cur.pb.gz"
bench deep "$work/deep-a.pb.gz" "$work/deep-b.pb.gz"
if [ -f "$build/tests/profiles/many-a.pb.gz" ]; then
	bench many "$build/tests/profiles/many-a.pb.gz" \
	    "$build/tests/profiles/many-b.pb.gz"
else
	echo "== many: no $build/tests/profiles/many-a.pb.gz:" \
	    "run tests/pprof_compare.sh first"
fi
