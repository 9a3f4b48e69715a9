#!/usr/bin/env bash
# heapwatchd when its store fails: a file size limit (EFBIG), a full and a
# read-only file system. Each failure is logged and counted, no partial
# snapshot is ever listed, and storing resumes once the fault is gone.
# Then kill -9 at random moments while snapshots, large and small, are
# written, 20 times, retention at work: every listed snapshot decodes and
# the series go on.
#
# With HEAPWATCH_STORAGE_FORMAT=pack the same faults hit the targets'
# databases: what is listed is read through the API (racing retention,
# which drops snapshots meanwhile), and what is on disk is what the
# database lists.
#
# The test mounts small file systems in a mount namespace of its own
# (unshare, as root or in a user namespace), so it changes nothing
# outside.
if [ -z "${HEAPWATCH_UNSHARED:-}" ]; then
	HEAPWATCH_UNSHARED=1 exec unshare -rm --propagation private "$0" "$@"
	echo "1..1"
	echo "not ok 1 - unshare -rm: a mount namespace for the test"
	exit 1
fi
. "$(dirname "$0")/lib.sh"

fixture_start leak || { ok 1 "fixture starts"; done_testing; exit; }
F=$FIXTURE_URL
LEAK_PID=$FIXTURE_PID

metric() {	# metric NAME TARGET [RESULT]: a value from /metrics, or 0
	local v
	v=$(curl -fs --max-time 30 "$HWD_URL/metrics" |
	    grep "^$1{target=\"$2\"${3:+,result=\"$3\"}[,}]" |
	    awk '{print $2}')
	echo "${v:-0}"
}
# Whether a target's count of RESULT scrapes has passed N.
count_over() { [ "$(metric heapwatch_scrapes_total "$1" "$2")" -gt "$3" ]; }
listed() { curl -fs --max-time 30 "$HWD_URL/api/v1/targets/$1/snapshots"; }
nlisted() { listed "$1" | jq length; }
nlisted_over() { [ "$(nlisted "$1")" -gt "$2" ] 2>/dev/null; }

# Every snapshot the API lists decodes; prints how many there are.
# A snapshot listed, then dropped by retention before it is read (one a
# second, on a busy machine) is not counted; one still there must decode.
# Packed snapshots are read as the API serves them.
listed_decode() {	# listed_decode TARGET STORE
	local id f n=0
	# Newest first: retention drops the oldest while they are read.
	for id in $(listed "$1" | jq -r 'reverse | .[].id'); do
		f=$2/$1/$id.pb.gz
		if [ "$STORAGE_FORMAT" = pack ]; then
			f=$TMPD/served.pb.gz
			rm -f "$f"
			curl -fs --max-time 60 -o "$f" \
			    "$HWD_URL/api/v1/targets/$1/snapshots/$id"
		fi
		if ! "$HEAPWATCH" top -n 1 "$f" >/dev/null 2>&1; then
			if [ "$STORAGE_FORMAT" = pack ]; then
				listed "$1" | jq -e --arg id "$id" \
				    'any(.[]; .id == $id)' >/dev/null &&
				    return 1
			else
				[ -e "$f" ] && return 1
			fi
			continue
		fi
		n=$((n + 1))
	done
	echo "$n"
}
# Snapshots a target's database lists (its rows not dropped).
db_rows() {	# db_rows FOLDER
	sqlite3 -readonly "$1/snapshots.db" \
	    "SELECT count(*) FROM snap WHERE state = 0" 2>/dev/null || echo 0
}
no_tmp() { [ -z "$(find "$1" -name '.tmp-*')" ]; }
# The diff page of the Ith and Jth of a target's listed snapshots, which
# it reads into memory whatever the disk's state (a packed snapshot was
# once written out as pprof first, which a read-only disk refused; each
# fault asks for a pair not asked for before, which no earlier diff wrote
# out); tried thrice, in case retention drops one between listing and
# diff.
diff_served() {	# diff_served TARGET I J
	local try b c
	for try in 1 2 3; do
		b=$(listed "$1" | jq -r ".[$2].id")
		c=$(listed "$1" | jq -r ".[$3].id")
		curl -fs --max-time 60 "$HWD_URL/targets/$1/diff?base=$b&current=$c" |
		    grep -q "<code>main\." && return 0
	done
	return 1
}
# None of another process: the running daemon's may be writes in flight.
no_old_tmp() {
	local left
	left=$(find "$1" -name '.tmp-*' ! -name ".tmp-$HWD_PID-*")
	[ -z "$left" ] || { echo "left over: $left" >&2; return 1; }
}

write_config() {	# write_config FILE STORE
	{ config_head 20s 10s | sed "s|path: .*|path: $2|"; cat <<YAML; } >"$1"
  - name: leak
    url: $F/debug/pprof/heap
YAML
}

# With a fault of the store in place (WHAT), failed writes are counted
# and logged with CAUSE, the listed snapshots decode, nothing partial is
# left and the snapshots I and J diff; sets before to the number listed.
fault_holds() {	# fault_holds WHAT CAUSE I J
	local failed
	failed=$(metric heapwatch_scrapes_total leak not_stored)
	wait_for 30 count_over leak not_stored "$((failed + 2))"
	ok $? "with $1, failed writes are counted"
	grep -q "leak: snapshot not stored: .*$2" "$log"
	ok $? "... and logged with their cause"
	before=$(listed_decode leak "$fs/store")
	ok $? "every listed snapshot decodes ($before)"
	no_tmp "$fs"
	ok $? "no partial file is left"
	diff_served leak "$3" "$4"
	ok $? "the diff page of snapshots $3 and $4 is served"
}

stop_daemon() {
	kill -TERM "$HWD_PID"
	wait "$HWD_PID"
}

# 1. A file size limit: every write fails with EFBIG. The daemon runs
# under the limit; its log goes through a pipe opened before, which the
# limit does not reach.
cat >"$TMPD/limited" <<SH
#!/usr/bin/env bash
exec 2> >(exec cat >&2) >&2
ulimit -f 1
exec "$HEAPWATCHD" "\$@"
SH
chmod +x "$TMPD/limited"
conf=$TMPD/efbig.yaml
write_config "$conf" "$TMPD/efbig"
real_heapwatchd=$HEAPWATCHD
HEAPWATCHD=$TMPD/limited
log=$TMPD/efbig.log
daemon_start "$conf" "$log" || { ok 1 "heapwatchd starts"; done_testing; exit; }
HEAPWATCHD=$real_heapwatchd
wait_for 30 count_over leak not_stored 2
ok $? "under RLIMIT_FSIZE, failed writes are counted as not_stored"
grep -q "leak: snapshot not stored: .*File too large" "$log"
ok $? "... and logged with their cause"
target_field leak last_error | grep -q "not stored: .*File too large"
ok $? "... and shown as the target's last error"
[ "$(nlisted leak)" = 0 ] && no_tmp "$TMPD/efbig" &&
    [ -z "$(find "$TMPD/efbig" -name '*.pb.gz')" ] &&
    [ "$(db_rows "$TMPD/efbig/leak")" = 0 ]
ok $? "no snapshot is listed, and no partial file is left"
curl -fs --max-time 30 "$HWD_URL/-/healthy" >/dev/null
ok $? "heapwatchd goes on"
stop_daemon
ok $? "and stops cleanly"

# 2. A full file system: a small tmpfs, filled once some snapshots are in.
fs=$TMPD/fs
mkdir -p "$fs"
mount -t tmpfs -o size=4m tmpfs "$fs"
ok $? "a 4 MiB tmpfs for the store"
conf=$TMPD/fs.yaml
write_config "$conf" "$fs/store"
log=$TMPD/fs.log
daemon_start "$conf" "$log" || { ok 1 "heapwatchd starts"; done_testing; exit; }
wait_for 30 nlisted_over leak 2
ok $? "snapshots are stored on the tmpfs"
dd if=/dev/zero of="$fs/filler" bs=4k >/dev/null 2>&1
fault_holds "the file system full" "No space left on device" 0 1
rm -f "$fs/filler"
wait_for 30 nlisted_over leak "$before"
ok $? "once there is room again, snapshots are stored again"

# 3. The same file system made read-only under the running daemon.
mount -o remount,ro "$fs"
fault_holds "the file system read-only" "Read-only file system" 1 2
mount -o remount,rw "$fs"
wait_for 30 nlisted_over leak "$before"
ok $? "once writable again, snapshots are stored again"
stop_daemon
umount "$fs"

# 4. kill -9 at random moments while large snapshots are written: four
# targets of a profile of 65,536 samples (270 KB), served as a file so that
# making it costs nothing, each scraped twice a second, beside a small one.
fixture_start many || { ok 1 "fixture starts"; done_testing; exit; }
fetch "$FIXTURE_URL/debug/pprof/heap" "$TMPD/many.pb.gz"
ok $? "a large profile to serve"
fixture_stop
bin=$(profserve_bin) && serve_start profserve "$bin" -listen 127.0.0.1:0 \
    "$TMPD/many.pb.gz" || { ok 1 "profserve starts"; done_testing; exit; }
M=$STARTED_URL
PROFSERVE_PID=$STARTED_PID
store=$TMPD/store
conf=$TMPD/kill.yaml
# Retention at work, so that snapshots are written into spares too.
config_head 2s 1s |
    sed 's|^  path: .*|&\n  retention: {snapshots: 8}|' >"$conf"
cat >>"$conf" <<YAML
  - name: leak
    url: $F/debug/pprof/heap
    interval: 500ms
    timeout: 400ms
YAML
for i in $(seq 1 4); do
	printf '  - name: many%d\n    url: %s/debug/pprof/heap\n' "$i" "$M"
	printf '    interval: 500ms\n    timeout: 400ms\n'
done >>"$conf"
lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
# The snapshots the store holds, in either form.
stored() {
	local d n=0
	if [ "$STORAGE_FORMAT" = pack ]; then
		for d in "$store"/*/snapshots.db; do
			[ -f "$d" ] && n=$((n + $(sqlite3 -readonly "$d" \
			    "SELECT count(*) FROM snap WHERE state = 0" \
			    2>/dev/null || echo 0)))
		done
		echo "$n"
	else
		ls "$store"/*/*.pb.gz 2>/dev/null | wc -l
	fi
}
# 20 kills at least, and on until more than 20 snapshots are there to
# check: on a loaded machine a life of under 2 s may store none.
kills=0
started=0
while [ "$kills" -lt 20 ] ||
    { [ "$(stored)" -le 20 ] && [ "$kills" -lt 80 ]; }; do
	daemon_start "$conf" "$TMPD/kill.log" || break
	started=$((started + 1))
	sleep "$((RANDOM % 2)).$((RANDOM % 10))$((RANDOM % 10))"
	kill -9 "$HWD_PID"
	wait "$HWD_PID" 2>/dev/null
	kills=$((kills + 1))
done
[ "$kills" -ge 20 ] && [ "$started" -eq "$kills" ]
ok $? "heapwatchd started again after each of $kills kill -9"
bad=0
total=0
if [ "$STORAGE_FORMAT" = pack ]; then
	# Every snapshot a database holds, exported as heapwatch does.
	for d in "$store"/*/; do
		[ -f "$d/snapshots.db" ] || continue
		for id in $(sqlite3 -readonly "$d/snapshots.db" \
		    "SELECT time_ms || CASE seq WHEN 0 THEN '' ELSE '-' || seq END
		    FROM snap WHERE state = 0"); do
			total=$((total + 1))
			"$HEAPWATCH" export "$d" "$id" >"$TMPD/x.pb.gz" &&
			    "$HEAPWATCH" top -n 1 "$TMPD/x.pb.gz" \
			    >/dev/null 2>&1 || bad=$((bad + 1))
		done
	done
else
	for f in "$store"/*/*.pb.gz; do
		total=$((total + 1))
		"$HEAPWATCH" top -n 1 "$f" >/dev/null 2>&1 || bad=$((bad + 1))
	done
fi
[ "$bad" -eq 0 ] && [ "$total" -gt 20 ]
ok $? "after $kills kill -9, all $total snapshots on disk decode ($bad do not)"
series_before=$(lines "$store/leak/.series")
daemon_start "$conf" "$TMPD/kill.log"
ok $? "heapwatchd starts on the store"
! grep -q "set aside" "$TMPD/kill.log"
ok $? "no snapshot is set aside at start-up"
no_old_tmp "$store"
ok $? "leftovers of interrupted writes are removed at start-up"
newest() { listed "$1" | jq -r 'map(.id) | last // ""'; }
newer() { [ "$(newest "$1")" != "$2" ]; }
last=$(newest leak)
wait_for 60 newer leak "$last"
rc=$?
ok $rc "the leak target's snapshots go on (after $last, $(newest leak))"
[ "$rc" -eq 0 ] || {
	curl -fs --max-time 10 "$HWD_URL/api/v1/targets" |
	    jq -c '.[] | select(.name == "leak")' | diag
	tail -n 20 "$TMPD/kill.log" | diag
}
# The leak target stores a snapshot every half second, retention keeping
# 8: on a loaded machine most of those listed may be dropped before they
# are read, which listed_decode() passes over. A listed one that does not
# decode fails at once; too few read is tried again, a bounded number of
# times.
tries=0
while all=$(listed_decode leak "$store") && [ "$all" -lt 2 ] &&
    [ "$tries" -lt 20 ]; do
	tries=$((tries + 1))
done
[ -n "$all" ] && [ "$all" -ge 2 ] && [ "$all" -le 8 ]
rc=$?
ok $rc "every listed snapshot decodes, retention keeping 8 at most ($all)"
[ "$rc" -eq 0 ] || {
	listed leak | jq -c 'map(.id)' | diag
	tail -n 20 "$TMPD/kill.log" | diag
}
[ -z "$(grep -v -x '[0-9]* -\{0,1\}[0-9]*' "$store/leak/.series")" ] &&
    [ "$(lines "$store/leak/.series")" -gt "$series_before" ]
ok $? "the series is whole and goes on ($series_before lines, then more)"
wait_for 30 nlisted_over many1 0
# No more large snapshots from here, so that disk and list compare: once
# each large target has failed a scrape after the server stopped, none of
# its scrapes (one at a time) is still being stored.
for i in $(seq 1 4); do
	failed[i]=$(metric heapwatch_scrapes_total "many$i" failed)
done
kill "$PROFSERVE_PID"
for i in $(seq 1 4); do
	wait_for 60 count_over "many$i" failed "${failed[i]}"
done
large=0
for i in $(seq 1 4); do
	n=$(listed_decode "many$i" "$store") && [ "$n" -gt 0 ] &&
	    large=$((large + n))
done
on_disk() {
	local d n=0
	if [ "$STORAGE_FORMAT" = pack ]; then
		for d in "$store"/many*; do
			n=$((n + $(db_rows "$d")))
		done
		echo "$n"
	else
		find "$store"/many* -maxdepth 1 -name '*.pb.gz' | wc -l
	fi
}
# What retention dropped is no longer listed, but its file waits for the
# store's next sync, a second or two.
disk_is_listed() { [ "$(on_disk)" -eq "$large" ]; }
[ "$large" -gt 0 ] && wait_for 30 disk_is_listed
ok $? "every large snapshot on disk is listed and decodes ($large, $(on_disk) on disk)"
stop_daemon
ok $? "SIGTERM stops heapwatchd with status 0"
kill "$LEAK_PID" 2>/dev/null

done_testing
