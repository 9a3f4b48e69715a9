#!/usr/bin/env bash
# heapwatchd's packed store (storage.format: pack) gives back what it was
# given, in go tool pprof's numbers: runs of profiles scraped from the
# real fixture (shapes: recursion, inlining; many: 65,536 stacks;
# goroutines, with labels) are packed into a target's database by
# heapwatch import --pack; each snapshot served by the API, and written
# by heapwatch export, shows the same go tool pprof -top for every sample
# type, and -base of consecutive pairs, as the profiles received; the
# API's diff equals heapwatch diff of the files; heapwatch judge reads the
# folder; and after a switch back to pprof, the packed snapshots are
# still listed and served beside the new files.
. "$(dirname "$0")/lib.sh"

HW=$top_builddir/heapwatch

# scrape NAME COUNT MUTATE-EVERY PATH MODE: profiles into $TMPD/NAME/in.
scrape() {
	local name=$1 count=$2 every=$3 path=$4 i
	fixture_start "$5"
	ok $? "$name: fixture started"
	mkdir -p "$TMPD/$name/in" "$TMPD/$name/api" "$TMPD/$name/export"
	for i in $(seq 1 "$count"); do
		if [ "$every" -gt 0 ] && [ $((i % every)) -eq 0 ]; then
			curl -fsS --max-time 30 -X POST "$FIXTURE_URL/mutate" \
			    >/dev/null
		fi
		fetch "$FIXTURE_URL$path" "$TMPD/$name/in/$i.pb.gz" || break
	done
	fixture_stop
	[ -s "$TMPD/$name/in/$count.pb.gz" ]
	ok $? "$name: $count profiles scraped"
	# shellcheck disable=SC2046
	"$HW" import --pack "$TMPD/store/$name" $(for i in $(seq 1 "$count");
	    do echo "$TMPD/$name/in/$i.pb.gz"; done) >"$TMPD/$name/ids"
	ok $? "$name: imported packed"
	[ -f "$TMPD/store/$name/snapshots.db" ] &&
	    [ -z "$(find "$TMPD/store/$name" -maxdepth 1 -name '*.pb.gz')" ]
	ok $? "$name: into the target's database, no file a snapshot"
}

# compare NAME COUNT: the API's and export's snapshots against the input.
compare() {
	local name=$1 count=$2 i id exported=0
	for i in $(seq 1 "$count"); do
		id=$(awk -v f="$TMPD/$name/in/$i.pb.gz" '$2 == f { print $1 }' \
		    "$TMPD/$name/ids")
		curl -fs --max-time 60 -o "$TMPD/$name/api/$i.pb.gz" \
		    "$HWD_URL/api/v1/targets/$name/snapshots/$id"
		"$HW" export "$TMPD/store/$name" "$id" \
		    >"$TMPD/$name/export/$i.pb.gz" &&
		    cmp -s "$TMPD/$name/api/$i.pb.gz" \
		    "$TMPD/$name/export/$i.pb.gz" && exported=$((exported + 1))
	done
	[ "$exported" -eq "$count" ]
	ok $? "$name: the API serves each as heapwatch export writes it"
	pprof_same "$name" "$TMPD/$name/in" "$TMPD/$name/api" "$count"
}

scrape shapes 6 3 "/debug/pprof/heap?gc=1" shapes
scrape many 3 2 "/debug/pprof/heap?gc=1" many
scrape goroutines 4 2 "/debug/pprof/goroutine" goroutines

# The targets' services are gone: the daemon serves what is stored.
conf=$TMPD/heapwatchd.yaml
write_config() {	# write_config FORMAT
	config_head | sed "s|^  format: .*|  format: $1|"
	for name in shapes many goroutines; do
		printf '  - name: %s\n    url: http://127.0.0.1:1/%s\n' \
		    "$name" "$name"
	done
	printf '    interval: 10s\n'
}
write_config pack >"$conf"
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }
compare shapes 6
compare many 3
compare goroutines 4

# The diff of two packed snapshots is heapwatch diff of the files received.
b=$(awk 'NR == 1 { print $1 }' "$TMPD/many/ids")
c=$(awk 'NR == 3 { print $1 }' "$TMPD/many/ids")
curl -fs --max-time 60 \
    "$HWD_URL/api/v1/targets/many/diff?base=$b&current=$c&sample_index=inuse_space" |
    jq -S '.functions' >"$TMPD/api.diff"
"$HW" diff --json -i inuse_space "$TMPD/many/in/1.pb.gz" \
    "$TMPD/many/in/3.pb.gz" | jq -S '.functions' >"$TMPD/cli.diff"
[ -s "$TMPD/api.diff" ] && cmp -s "$TMPD/api.diff" "$TMPD/cli.diff"
ok $? "the API's diff of packed snapshots is heapwatch diff of the files"

"$HW" judge "$TMPD/store/shapes" >"$TMPD/judge" 2>&1 &&
    grep -q "6 snapshots" "$TMPD/judge"
ok $? "heapwatch judge reads a packed folder: $(head -1 "$TMPD/judge")"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops"

# Switched back to pprof: the packed snapshots are listed and served still.
write_config pprof >"$conf"
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }
n=$(curl -fs --max-time 30 "$HWD_URL/api/v1/targets/shapes/snapshots" |
    jq length)
id=$(awk 'NR == 6 { print $1 }' "$TMPD/shapes/ids")
curl -fs --max-time 60 -o "$TMPD/again.pb.gz" \
    "$HWD_URL/api/v1/targets/shapes/snapshots/$id"
[ "$n" = 6 ] && cmp -s "$TMPD/again.pb.gz" "$TMPD/shapes/api/6.pb.gz"
ok $? "with storage.format pprof, the packed snapshots are listed ($n) and served"
kill -TERM "$HWD_PID"
wait "$HWD_PID"

# A database an older heapwatch made (without the listing's index and its
# column) on a read-only file system, which cannot give it them: read as
# it is, both with its log and -shm file beside it (copied) and without
# (sqlite3(1) took them away, and SQLite cannot make the -shm there). One
# whose log holds pages but has lost its -shm cannot be read there: it is
# refused, not read without them.
ro=$TMPD/ro
mkdir -p "$ro"
mount -t tmpfs -o size=64m tmpfs "$ro"
ok $? "a tmpfs to make read-only"
cleanup_hooks+=("umount '$ro' 2>/dev/null")
"$HW" judge "$TMPD/store/shapes" >"$TMPD/judge.rw" 2>&1
for copy in kept gone walled; do
	cp -a "$TMPD/store/shapes" "$ro/$copy"
	[ "$copy" != gone ] && set -- ".dbconfig no_ckpt_on_close on" ||
	    set --
	sqlite3 "$ro/$copy/snapshots.db" "$@" "DROP INDEX snap_list;
	    ALTER TABLE snap DROP COLUMN stored;" >/dev/null
done
rm -f "$ro/walled/snapshots.db-shm"
[ -s "$ro/kept/snapshots.db-wal" ] && [ ! -e "$ro/gone/snapshots.db-wal" ] &&
    [ -s "$ro/walled/snapshots.db-wal" ] &&
    [ ! -e "$ro/gone/snapshots.db-shm" ] && [ "$(sqlite3 -readonly \
    "$ro/kept/snapshots.db" "SELECT count(*) FROM sqlite_master WHERE name =
    'snap_list'")" = 0 ]
ok $? "old databases: with their log, without it, and with it but no -shm"
mount -o remount,ro "$ro"
ok $? "... on a file system made read-only"
for copy in kept gone; do
	# The same verdict, but for the name (the folder's).
	"$HW" judge "$ro/$copy" >"$TMPD/judge.$copy" 2>&1 &&
	    cmp -s <(sed '1s/^[^:]*://' "$TMPD/judge.rw") \
	    <(sed '1s/^[^:]*://' "$TMPD/judge.$copy")
	ok $? "$copy: heapwatch judge reads it: $(head -1 "$TMPD/judge.$copy")"
	same=0
	for i in $(seq 1 6); do
		id=$(awk -v n="$i" 'NR == n { print $1 }' "$TMPD/shapes/ids")
		"$HW" export "$ro/$copy" "$id" >"$TMPD/ro.pb.gz" 2>"$TMPD/ro.err" &&
		    cmp -s "$TMPD/ro.pb.gz" "$TMPD/shapes/api/$i.pb.gz" &&
		    same=$((same + 1))
	done
	[ "$same" -eq 6 ]
	ok $? "$copy: heapwatch export writes its 6 snapshots as served ($same)$(
	    sed -n 1p "$TMPD/ro.err")"
done
! "$HW" judge "$ro/walled" >"$TMPD/judge.walled" 2>&1 &&
    grep -q "snapshots.db" "$TMPD/judge.walled"
ok $? "walled: refused, not read without its log: $(head -1 \
    "$TMPD/judge.walled")"
umount "$ro"

done_testing
