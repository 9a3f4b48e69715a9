#!/usr/bin/env bash
# The compact snapshot form (src/pack.c) is lossless in what go tool pprof
# shows: runs of heap profiles scraped from the real fixture (mode shapes:
# recursion, inlining; mode many: 65,536 stacks; goroutine profiles, with
# labels) and bench/genprof's pair (ids not in table order, deep stacks)
# are packed, read back from the stored blobs, and go tool pprof -top of
# every sample type, and -base of consecutive pairs, equals that of the
# profiles as received. Each is packed twice, from its protobuf and from
# the decoder's parse of it, as heapwatchd's store packs it: packrun fails
# unless the two give the same blobs.
. "$(dirname "$0")/lib.sh"

PACKRUN="$top_builddir/tests/packrun"
alike="packed from the protobuf and from the parse alike"

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
	ok $? "$name: $alike, read back ($(cat "$TMPD/packrun.out"))"
	pprof_same "$name" "$TMPD/$name/in" "$TMPD/$name/out" "$count"
	pprof_top "$TMPD/$name/in/$count.pb.gz" | sed -n '2p' >"$TMPD/first"
	[ -s "$TMPD/first" ]
	ok $? "$name: pprof read the profiles (a node: $(cat "$TMPD/first"))"
}

run shapes 6 3 "/debug/pprof/heap?gc=1" shapes
run many 3 2 "/debug/pprof/heap?gc=1" many
run goroutines 4 2 "/debug/pprof/goroutine" goroutines

genprof=$top_builddir/tests/genprof
if [ ! -x "$genprof" ] ||
    [ "$top_srcdir/bench/genprof/main.go" -nt "$genprof" ]; then
	(cd "$top_srcdir/bench/genprof" && go build -o "$genprof" .) >&2
fi
mkdir -p "$TMPD/genprof/in" "$TMPD/genprof/out"
"$genprof" -samples 6000 "$TMPD/genprof/in/1.pb.gz" \
    "$TMPD/genprof/in/2.pb.gz" 2>"$TMPD/genprof.err"
ok $? "genprof: a pair made ($(tail -1 "$TMPD/genprof.err"))"
"$PACKRUN" "$TMPD/genprof/out" 4 "$TMPD/genprof/in/1.pb.gz" \
    "$TMPD/genprof/in/2.pb.gz" >"$TMPD/packrun.out" 2>&1
ok $? "genprof: $alike, read back ($(cat "$TMPD/packrun.out"))"
pprof_same genprof "$TMPD/genprof/in" "$TMPD/genprof/out" 2

# A repeat (packstore_put_repeat(): the newest snapshot again, but for its
# time and duration) stores the very rows and blobs that the profile with
# its fields 9 and 10 rewritten stores through the full path, and reads
# back alike: on the last profile of each run, and on one of a leak.
fixture_start leak
ok $? "leak: fixture started"
fetch "$FIXTURE_URL/debug/pprof/heap" "$TMPD/leak.pb.gz"
ok $? "leak: a profile scraped"
fixture_stop
"$top_builddir/tests/test_packstore" --repeat "$TMPD/shapes/in/6.pb.gz" \
    "$TMPD/many/in/3.pb.gz" "$TMPD/goroutines/in/4.pb.gz" \
    "$TMPD/leak.pb.gz" >"$TMPD/repeat.out" 2>&1
rc=$?
n=$(grep -c '^ok' "$TMPD/repeat.out")
ok $rc "a repeat stores what a put of the profile with new times does ($n checks on 4 profiles)"
[ $rc -eq 0 ] || grep -v '^ok' "$TMPD/repeat.out" | diag

# A shrunk writer codes a profile of the last one's shape without its
# dictionary, storing what a writer kept stores (tests/test_packstore's
# test_shaped). A profile keeps its shape from one GC to the next once no
# new allocation site or size is sampled: for a third or more of the GCs
# of the fixture's static heap sampled at Go's default rate, where only
# serving the profile allocates, once the first few are past (10 to 13 of
# 23 puts coded by shape in three runs); the shapes run, sampled at every
# allocation and changed every third, is there for its rows.
fixture_start shapes -profile-rate 524288
ok $? "steady: fixture started at Go's default sampling rate"
mkdir -p "$TMPD/steady"
for i in $(seq 1 28); do
	fetch "$FIXTURE_URL/debug/pprof/heap?gc=1" "$TMPD/steady/$i.pb.gz" ||
	    break
done
fixture_stop
[ -s "$TMPD/steady/28.pb.gz" ]
ok $? "steady: 28 profiles scraped, each after a GC (the first 4 not put)"
shaped() {	# shaped NAME LEAST FILE...
	local name=$1 rc
	shift
	"$top_builddir/tests/test_packstore" --shaped "$@" \
	    >"$TMPD/shaped.out" 2>&1
	rc=$?
	ok $rc "$name: puts coded by shape store what a writer kept stores ($(grep 'coded by shape' "$TMPD/shaped.out" | sed 's/^.*- puts coded by shape: //'))"
	[ $rc -eq 0 ] || grep -v '^ok' "$TMPD/shaped.out" | diag
}
# shellcheck disable=SC2046
shaped steady 3 $(for i in $(seq 5 28); do echo "$TMPD/steady/$i.pb.gz"; done)
# shellcheck disable=SC2046
shaped shapes 0 $(for i in $(seq 1 6); do echo "$TMPD/shapes/in/$i.pb.gz"; done)

done_testing
