#!/usr/bin/env bash
# What storing a snapshot of 146 KB costs, retention included, when a
# target keeps 4, 50, 500 (the default) and 5,000 snapshots (a figure, not
# a test; see bench/store.c); then the same with the syncs deferred and
# the drops made by the store's tick, as heapwatchd stores.
#
#   bench/store.sh [BUILD-DIR]
#
# Writes under _build/bench-store, on the file system of the source tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
work=$top/_build/bench-store
[ -f "$build/src/libheapwatch.a" ] || {
	echo "bench: no $build/src/libheapwatch.a: build first" >&2
	exit 1
}
rm -rf "$work"
mkdir -p "$work"
# shellcheck disable=SC2046
cc -O2 -I"$build" -I"$top/src" -o "$work/store" "$top/bench/store.c" \
    "$build/src/libheapwatch.a" $(pkg-config --libs libprotobuf-c zlib \
    libdeflate libxxhash libzstd sqlite3) -lm
"$work/store" "$work/root" 146342 4 50 500 5000
rm -rf "$work/root"
"$work/store" -d "$work/root" 146342 4 50 500 5000
rm -rf "$work/root"
