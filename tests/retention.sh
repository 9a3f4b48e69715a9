#!/usr/bin/env bash
# Retention in a running heapwatchd: a target keeps its newest snapshots
# (those it drops are no longer listed, and leave the folder once the
# store's once-a-second sync has taken the new ones to the disk), the first
# one dropped stays as the folder's .spare and the next snapshot takes over
# its file; but a snapshot still being downloaded, or held open by anyone,
# is never rewritten: its reader gets its own bytes whole.
# (A download is mostly in socket buffers at once; a file held open by a
# shell is what shows the spare left alone.) An alert's evidence goes once
# past retention's age, at start-up or once it ages, scraped or not.
#
# Snapshots come every second, so a file picked by name may be gone before
# it is opened. Each step picks its file while the fixture is stopped
# (SIGSTOP: its scrapes time out, nothing is stored) and the drops that
# waited for the sync are done (three files left), takes hold of it, and
# only then lets scrapes store and drop again.
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
  timeout: 900ms
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
is_down() { [ "$(target_field shapes health)" = down ]; }
# Stop the fixture and wait for a scrape of it to fail: the target's scrape,
# decode and store run one at a time, so none is storing meanwhile.
pause() {
	kill -STOP "$FIXTURE_PID"
	wait_for 60 is_down ||
	    ok 1 "a scrape fails while the fixture is stopped"
}
resume() { kill -CONT "$FIXTURE_PID"; }
three() { [ "$(snapshot_files)" -eq 3 ]; }
gone() { [ ! -e "$1" ]; }
settle() {
	pause
	wait_for 60 three ||
	    ok 1 "the folder holds three once synced ($(snapshot_files))"
}
cleanup_hooks+=("kill -CONT $FIXTURE_PID 2>/dev/null")
newest() { ls "$dir" | grep '\.pb\.gz$' | sort -n | tail -n 1; }
oldest() { ls "$dir" | grep '\.pb\.gz$' | sort -n | head -n 1; }

wait_for 60 scraped shapes 6
ok $? "six snapshots taken"
[ "$(target_field shapes snapshots)" -eq 3 ]
ok $? "the API counts three"
curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq -e '
    length == 3' >/dev/null
ok $? "and lists three"
# Nothing stored meanwhile: the drops wait for the sync alone.
pause
wait_for 60 three
ok $? "synced, three stay in the folder ($(snapshot_files))"
[ -f "$dir/.spare" ]
ok $? "the first dropped stays as the spare"
curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq -e '
    length == 3' >/dev/null
ok $? "the spare is not listed"

# The next snapshot takes over the spare's file. Held meanwhile by an
# O_PATH descriptor (perl's sysopen passes the flag as it is), which
# takes no lease but keeps the inode's number from being given again.
settle
perl -e 'sysopen(my $f, $ARGV[0], 010000000) or die "$!\n"; sleep 120' \
    "$dir/.spare" &
holder=$!
cleanup_hooks+=("kill $holder 2>/dev/null")
spare=$(stat -c %i "$dir/.spare")
s=$(scrapes shapes)
resume
wait_for 60 scraped shapes $((s + 1))
ok $? "scraped again"
new=
for f in "$dir"/*.pb.gz; do
	[ "$(stat -c %i "$f" 2>/dev/null)" = "$spare" ] && new=${f##*/}
done
kill "$holder" 2>/dev/null
[ -n "$new" ]
ok $? "the next snapshot (${new:-none}) is written into the spare's file"
"$top_builddir/heapwatch" top "$dir/$new" >"$TMPD/top" 2>&1
ok $? "and decodes"

# A download of the oldest gets the bytes it started with, all of them,
# while retention drops it and the next snapshot looks for a spare. The
# client reads the status line, so the daemon has opened the file, then
# reads nothing more until both are done.
slow_get() {	# slow_get PATH OUT BEGUN GO: GET, wait for file GO, save body
	perl -MIO::Socket::IP -e '
	my ($port, $path, $out, $begun, $go) = @ARGV;
	my ($line, $c, $all, $n) = ("", "");
	alarm 120;
	my $s = IO::Socket::IP->new(PeerHost => "127.0.0.1",
	    PeerPort => $port) or die "connect: $@\n";
	print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n" .
	    "Connection: close\r\n\r\n";
	while ($line !~ /\n/) {
		sysread($s, $c, 1) == 1 or die "no answer\n";
		$line .= $c;
	}
	open(my $b, ">", $begun) or die "$begun: $!\n";
	print $b $line;
	close($b);
	select(undef, undef, undef, 0.1) until -e $go;
	$all = $line;
	while (($n = sysread($s, $c, 65536))) {
		$all .= $c;
	}
	defined $n or die "read: $!\n";
	my ($head, $body) = split /\r\n\r\n/, $all, 2;
	$head =~ m{^HTTP/1\.[01] 200 } or die "answer: $line";
	$head =~ /^Content-Length: *(\d+)\r?$/mi && length($body) == $1 or
	    die "body of " . length($body) . " bytes, not as announced\n";
	open(my $o, ">", $out) or die "$out: $!\n";
	print $o $body;
	close($o) or die "$out: $!\n";
	' "$HWD_PORT" "$1" "$2" "$3" "$4"
}
settle
old=$(oldest)
cp "$dir/$old" "$TMPD/before"
s=$(scrapes shapes)
slow_get "/api/v1/targets/shapes/snapshots/${old%.pb.gz}" "$TMPD/download" \
    "$TMPD/begun" "$TMPD/go" 2>"$TMPD/download.err" &
dl=$!
begun() { [ -s "$TMPD/begun" ] || ! kill -0 "$dl" 2>/dev/null; }
wait_for 60 begun
grep -q '^HTTP/1\.[01] 200 ' "$TMPD/begun"
ok $? "the download begins: $(cat "$TMPD/begun" "$TMPD/download.err" \
    2>/dev/null | tr '\r\n' '  ')"
resume
wait_for 60 scraped shapes $((s + 2))
ok $? "two scrapes during the download"
wait_for 60 gone "$dir/$old"
ok $? "the snapshot downloaded was dropped meanwhile"
touch "$TMPD/go"
wait "$dl"
ok $? "the download ends well $(tr '\n' ' ' <"$TMPD/download.err")"
cmp -s "$TMPD/before" "$TMPD/download"
ok $? "with the snapshot's own bytes ($(stat -c %s "$TMPD/before"))"

# A file held open by another process is left alone the same way.
settle
old=$(oldest)
exec 3<"$dir/$old"
ino=$(stat -c %i "$dir/$old")
cp "$dir/$old" "$TMPD/before"
s=$(scrapes shapes)
resume
wait_for 60 scraped shapes $((s + 2))
ok $? "two scrapes while a reader holds the oldest"
wait_for 60 gone "$dir/$old"
ok $? "which they dropped"
cmp -s "$TMPD/before" /dev/fd/3
ok $? "the reader reads its bytes whole"
reused=0
for f in "$dir"/*.pb.gz "$dir/.spare"; do
	[ "$(stat -c %i "$f" 2>/dev/null)" = "$ino" ] && reused=1
done
[ "$reused" -eq 0 ]
ok $? "and no snapshot took its file"
exec 3<&-

# Counted and decoded while nothing is stored: a store has the new file
# before retention drops the oldest.
pause
wait_for 60 three
[ "$?" -eq 0 ] && [ "$(target_field shapes snapshots)" -eq 3 ]
ok $? "three snapshots still ($(snapshot_files))"
bad=0
for f in "$dir"/*.pb.gz; do
	"$top_builddir/heapwatch" top "$f" >"$TMPD/top" 2>&1 || {
		bad=$((bad + 1))
		diag <"$TMPD/top"
	}
done
[ "$bad" -eq 0 ]
ok $? "every snapshot in the folder decodes"

# A snapshot deleted by hand: the next store lists the folder again, and
# the count the API and heapwatch_snapshots give follows it.
deleted=$(oldest)
rm "$dir/$deleted"
s=$(scrapes shapes)
resume
wait_for 60 scraped shapes $((s + 1)) ||
    echo "no scrape after the deletion" | diag
pause
wait_for 60 three ||
    echo "the folder holds $(snapshot_files), not three" | diag
listed=$(curl -fs "$HWD_URL/api/v1/targets/shapes/snapshots" | jq length)
counted=$(target_field shapes snapshots)
gauge=$(curl -fs --max-time 5 "$HWD_URL/metrics" |
    awk '/^heapwatch_snapshots\{target="shapes"\}/ {print $2}')
[ -n "$deleted" ] && [ "$listed" = 3 ] && [ "$counted" = 3 ] &&
    [ "$gauge" = 3 ]
ok $? "a snapshot deleted by hand is counted out by the next store ($listed listed, $counted counted, gauge $gauge)"
resume

kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"

# Evidence goes with retention's age without waiting for another alert:
# started with a 60 s age, heapwatchd drops at once what is older, and
# what turns older later, while it runs; what is not stays. So for a
# target that is never scraped (gctrace alone), whose evidence an earlier
# configuration with a URL left.
ev=$dir/.evidence
qev=$TMPD/store/quiet/.evidence
mkdir -p "$ev" "$qev"
: >"$TMPD/quiet.log"
now=$(date +%s%3N)
echo old >"$ev/$((now - 120000)).txt"
echo soon >"$ev/$((now - 45000)).pb.gz"
echo fresh >"$ev/$now.pb.gz"
echo soon >"$qev/$((now - 45000)).pb.gz"
echo fresh >"$qev/$now.pb.gz"
sed -i 's/retention: {snapshots: 3}/retention: {snapshots: 3, age: 60s}/' \
    "$conf"
cat >>"$conf" <<YAML
  - name: quiet
    gctrace: {file: $TMPD/quiet.log}
YAML
daemon_start "$conf" || { ok 1 "heapwatchd starts again"; done_testing; exit; }
[ ! -e "$ev/$((now - 120000)).txt" ] && [ -e "$ev/$((now - 45000)).pb.gz" ]
ok $? "started with a 60 s age: the evidence 2 minutes old goes, 45 s stays"
wait_for 30 gone "$ev/$((now - 45000)).pb.gz"
ok $? "once 60 s old, it goes too, while heapwatchd runs"
wait_for 10 gone "$qev/$((now - 45000)).pb.gz"
ok $? "so does that of a target never scraped"
[ -e "$ev/$now.pb.gz" ] && [ -e "$qev/$now.pb.gz" ]
ok $? "the evidence under 60 s old stays"
# A reload that shortens the age prunes by the new one at once.
sed -i 's/age: 60s/age: 30s/' "$conf"
kill -HUP "$HWD_PID"
wait_for 50 gone "$ev/$now.pb.gz"
gone_ms=$(($(date +%s%3N) - now))
[ "$gone_ms" -lt 50000 ]
ok $? "reloaded with a 30 s age, it goes once 30 s old, not 60 ($gone_ms ms)"
wait_for 10 gone "$qev/$now.pb.gz"
ok $? "so does that of the target never scraped"
kill -TERM "$HWD_PID"
wait "$HWD_PID"
ok $? "SIGTERM stops heapwatchd with status 0"
done_testing
