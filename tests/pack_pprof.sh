#!/usr/bin/env bash
# The compact snapshot form (src/pack.c) is lossless in what go tool pprof
# shows: runs of heap profiles scraped from the real fixture (mode shapes:
# recursion, inlining; mode many: 65,536 stacks; goroutine profiles, with
# labels) are packed, read back from the stored blobs, and go tool pprof
# -top of every sample type, and -base of consecutive pairs, equals that
# of the profiles as received.
. "$(dirname "$0")/lib.sh"

PACKRUN="$top_builddir/tests/packrun"

# run NAME COUNT MUTATE-EVERY PATH MODE: scrape, pack, compare.
run() {
	local name=$1 count=$2 every=$3 path=$4 i
	fixture_start "$5"
	ok $? "$name: fixture started"
	mkdir -p "$TMPD/$name/in" "$TMPD/$name/out"
	for i in $(seq 1 "$count"); do
		if [ "$every" -gt 0 ] && [ $((i % every)) -eq 0 ]; then
			curl -fsS --max-time 30 -X POST "$FIXTURE_URL/mutate" \
			    >/dev/null
		fi
		fetch "$FIXTURE_URL$path" "$TMPD/$name/in/$i.pb.gz" ||
		    break
	done
	fixture_stop
	[ -s "$TMPD/$name/in/$count.pb.gz" ]
	ok $? "$name: $count profiles scraped"
	# shellcheck disable=SC2046
	"$PACKRUN" "$TMPD/$name/out" 4 $(for i in $(seq 1 "$count"); do
		echo "$TMPD/$name/in/$i.pb.gz"; done) >"$TMPD/packrun.out" 2>&1
	ok $? "$name: packed and read back ($(cat "$TMPD/packrun.out"))"
	pprof_same "$name" "$TMPD/$name/in" "$TMPD/$name/out" "$count"
	pprof_top "$TMPD/$name/in/$count.pb.gz" | sed -n '2p' >"$TMPD/first"
	[ -s "$TMPD/first" ]
	ok $? "$name: pprof read the profiles (a node: $(cat "$TMPD/first"))"
}

run shapes 6 3 "/debug/pprof/heap?gc=1" shapes
run many 3 2 "/debug/pprof/heap?gc=1" many
run goroutines 4 2 "/debug/pprof/goroutine" goroutines

done_testing
