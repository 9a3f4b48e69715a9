#!/usr/bin/env bash
# What the compact snapshot form (src/pack.c) saves and costs on runs of
# consecutive snapshots scraped from real Go services (figures, not a
# test; see bench/pack.c and bench/packstore.c):
#   many: tests/fixture -mode many, 65,536 distinct stacks, scraped with
#         ?gc=1, its heap changed by POST /mutate before every 10th;
#   leak: tests/fixture -mode leak, a heap that grows without end.
# Then the disk that 1,000 targets scraped every minute need for 30 days
# under the default tiers (every snapshot for 24 h, one per 10 minutes to
# 7 days, one per hour to 30 days), from the sizes measured on "many".
#
#   bench/pack.sh [BUILD-DIR] [SNAPSHOTS]
#
# Writes under _build/bench-pack.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
nsnap=${2:-120}
work=$top/_build/bench-pack
[ -f "$build/src/libheapwatch.a" ] || {
	echo "bench: no $build/src/libheapwatch.a: build first" >&2
	exit 1
}
rm -rf "$work/root" "$work/many" "$work/leak"
mkdir -p "$work/many" "$work/leak"
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    GOCACHE="$work/.cache/go-build" GOPATH="$work/.cache/go"
(cd "$top/tests/fixture" && go build -o "$work/fixture" .)
# shellcheck disable=SC2046
cc -O2 -I"$build" -I"$top/src" -o "$work/pack" "$top/bench/pack.c" \
    "$build/src/libheapwatch.a" $(pkg-config --libs libprotobuf-c zlib \
    libdeflate libxxhash libzstd sqlite3) -lm
# shellcheck disable=SC2046
cc -O2 -I"$build" -I"$top/src" -o "$work/packstore" \
    "$top/bench/packstore.c" "$build/src/libheapwatch.a" \
    $(pkg-config --libs libprotobuf-c zlib libdeflate libxxhash libzstd \
    sqlite3) -lm

pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || :' EXIT

# run MODE DIR MUTATE-EVERY PAUSE: nsnap heap profiles of a fixture.
run() {
	"$work/fixture" -mode "$1" >"$work/$1.out" 2>&1 &
	pid=$!
	for _ in $(seq 300); do
		grep -q '^listening on' "$work/$1.out" 2>/dev/null && break
		sleep 0.1
	done
	url=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$work/$1.out")
	for i in $(seq -w 1 "$nsnap"); do
		if [ "$3" -gt 0 ] && [ $((10#$i % $3)) -eq 0 ]; then
			curl -sf -X POST "$url/mutate" >/dev/null
		fi
		curl -sf -o "$2/$i.pb.gz" "$url/debug/pprof/heap?gc=1"
		sleep "$4"
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || :
	pid=
}
run many "$work/many" 10 0
run leak "$work/leak" 0 0.5

for set in many leak; do
	for step in 1 10; do
		echo "== $set, every ${step}th snapshot, a key every 60"
		"$work/pack" "$work/root" 60 "$step" "$work/$set"/*.pb.gz |
		    tee "$work/$set-$step.txt" | grep -v '^csv'
		rm -rf "$work/root"
	done
done

# heapwatchd's write path on each store form (bench/packstore.c): the
# same runs stored as received and packed, through store.h, the packed
# put coding the worker's parse of each profile (-p), as heapwatchd's.
for set in many leak; do
	echo "== $set, stored by heapwatchd's store, as received and packed"
	rm -rf "$work/root"
	"$work/packstore" -p "$work/root" "$work/$set"/*.pb.gz |
	    tee "$work/$set-store.txt" | grep -v '^csv'
	rm -rf "$work/root"
done

# Disk: per target, 1,440 snapshots at 1 minute and 864 + 552 at 10 and
# 60 minutes, the delta of a 60-minute step taken as that of a 10-minute
# one, a key snapshot every 60 of each tier; and the target's dictionary.
awk -F, '
	FNR == 1 { f++ }
	/^csv/ { gz[f] = $4; delta[f] = $6; key[f] = $7; dict[f] = $8 }
	END {
		per = 1440 * (delta[1] * 59 + key[1]) / 60 + \
		    (864 + 552) * (delta[2] * 59 + key[2]) / 60 + dict[1]
		printf "1,000 targets, 1-minute scrapes, default tiers, 30 " \
		    "days: %.2f GB (deltas of %.0f bytes at 1 minute, %.0f " \
		    "at 10; keys %.0f; dictionary %.0f; as received: %.0f " \
		    "GB)\n", per * 1000 / 1e9, delta[1], delta[2], key[1],
		    dict[1], 2856 * gz[1] * 1000 / 1e9
	}' "$work/many-1.txt" "$work/many-10.txt"
