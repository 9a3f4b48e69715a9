#!/usr/bin/env bash
# Retention in a running heapwatchd: a target keeps its newest snapshots,
# the first one dropped stays as the folder's .spare and the next snapshot
# takes over its file; but a snapshot still being downloaded, or held open
# by anyone, is never rewritten: its reader gets its own bytes whole.
# (A download is mostly in socket buffers at once; a file held open by a
# shell is what shows the spare left alone.)
. "$(dirname "$0")/lib.sh"

fixture_start shapes || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
dir=$TMPD/store/shapes
conf=$TMPD/heapwatchd.yaml
cat >"$conf" <<YAML
listen: 127.0.0.1:$HWD_PORT
storage:
  path: $TMPD/store
  retention: {snapshots: 3}
defaults:
  interval: 1s
  timeout: 500ms
  window: 2s
  for: 1s
targets:
  - name: shapes
    url: $F/debug/pprof/heap
YAML
daemon_start "$conf" || { ok 1 "heapwatchd starts"; done_testing; exit; }
ok 0 "heapwatchd starts"

scrapes() {	# scrapes TARGET: its successful scrapes
	curl -fs --max-time 5 "$HWD_URL/metrics" | awk -v t="target=\"$1\"" '
	    /^heapwatch_scrapes_total\{/ && index($0, t) &&
	    /result="success"/ {n += $2} END {print n + 0}'
}
scraped() { [ "$(scrapes "$1")" -ge "$2" ] 2>/dev/null; }
snapshot_files() { ls "$dir" | grep -c '\.pb\.gz$'; }
newest() { ls "$dir" | grep '\.pb\.gz$' | sort -n | tail -n 1; }
oldest() { ls "$dir" | grep '\.pb\.gz$' | sort -n | head -n 1; }

wait_for 30 scraped shapes 6
ok $? "six snapshots taken"
n=$(snapshot_files)
[ "$n" -eq 3 ]
ok $? "three stay in the folder ($n)"
[ "$(target_field shapes snapshots)" -eq 3 ]
ok $? "and the API counts three"
[ -f "$dir/.spare" ]
ok $? "the first dropped stays as the spare"
curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq -e '
    length == 3' >/dev/null
ok $? "the spare is not listed"

# The next snapshot takes over the spare's file. Held meanwhile by an
# O_PATH descriptor (perl's sysopen passes the flag as it is), which
# takes no lease but keeps the inode's number from being given again.
perl -e 'sysopen(my $f, $ARGV[0], 010000000) or die "$!\n"; sleep 30' \
    "$dir/.spare" &
holder=$!
cleanup_hooks+=("kill $holder 2>/dev/null")
spare=$(stat -c %i "$dir/.spare")
s=$(scrapes shapes)
wait_for 10 scraped shapes $((s + 1))
new=
for f in "$dir"/*.pb.gz; do
	[ "$(stat -c %i "$f")" = "$spare" ] && new=${f##*/}
done
kill "$holder" 2>/dev/null
[ -n "$new" ]
ok $? "the next snapshot (${new:-none}) is written into the spare's file"
"$top_builddir/heapwatch" top "$dir/$new" >"$TMPD/top" 2>&1
ok $? "and decodes"

# A download of the oldest gets the bytes it started with, all of them,
# while retention drops it.
old=$(oldest)
cp "$dir/$old" "$TMPD/before"
s=$(scrapes shapes)
curl -fs --max-time 30 --limit-rate 4k -o "$TMPD/download" \
    "$HWD_URL/api/v1/targets/shapes/snapshots/${old%.pb.gz}" &
dl=$!
wait_for 15 scraped shapes $((s + 3))
ok $? "three scrapes during the download"
[ ! -e "$dir/$old" ]
ok $? "the snapshot downloaded was dropped meanwhile"
wait "$dl"
ok $? "the download ends well"
cmp -s "$TMPD/before" "$TMPD/download"
ok $? "with the snapshot's own bytes ($(stat -c %s "$TMPD/before"))"

# A file held open by another process is left alone the same way.
old=$(oldest)
exec 3<"$dir/$old"
ino=$(stat -c %i "$dir/$old")
cp "$dir/$old" "$TMPD/before"
s=$(scrapes shapes)
wait_for 15 scraped shapes $((s + 3))
ok $? "three scrapes while a reader holds the oldest"
cmp -s "$TMPD/before" /dev/fd/3
ok $? "the reader reads its bytes whole"
reused=0
for f in "$dir"/*.pb.gz "$dir/.spare"; do
	[ "$(stat -c %i "$f")" = "$ino" ] && reused=1
done
[ "$reused" -eq 0 ]
ok $? "and no snapshot took its file"
exec 3<&-

n=$(snapshot_files)
[ "$n" -eq 3 ] && [ "$(target_field shapes snapshots)" -eq 3 ]
ok $? "three snapshots still ($n)"
bad=0
for f in "$dir"/*.pb.gz; do
	"$top_builddir/heapwatch" top "$f" >/dev/null 2>&1 || bad=$((bad + 1))
done
[ "$bad" -eq 0 ]
ok $? "every snapshot in the folder decodes"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"
done_testing
