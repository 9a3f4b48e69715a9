#!/usr/bin/env bash
# heapwatch import and export move snapshots between a store and .pb.gz
# files, byte for byte: profiles scraped from the real fixture are
# imported into a target's folder, listed in time order, read by
# heapwatch judge, and exported back as the same bytes.
. "$(dirname "$0")/lib.sh"

HW="$top_builddir/heapwatch"
fixture_start shapes
ok $? "fixture started"
for i in 1 2 3; do
	[ "$i" -eq 3 ] && curl -fsS --max-time 30 -X POST \
	    "$FIXTURE_URL/mutate" >/dev/null
	fetch "$FIXTURE_URL/debug/pprof/heap?gc=1" "$TMPD/in$i.pb.gz"
	ok $? "heap profile $i scraped"
done
fixture_stop
printf 'not a profile\n' >"$TMPD/bad.pb.gz"

# The third first: what is stored follows the profiles' own times.
"$HW" import "$TMPD/store/svc" "$TMPD/in3.pb.gz" "$TMPD/bad.pb.gz" \
    "$TMPD/in1.pb.gz" "$TMPD/in2.pb.gz" >"$TMPD/ids" 2>"$TMPD/err"
rc=$?
[ "$rc" -eq 1 ]
ok $? "import exits 1 when a file is no profile (exit $rc)"
grep -q "bad.pb.gz" "$TMPD/err" && [ "$(wc -l <"$TMPD/err")" -eq 1 ]
ok $? "and names it on one line"
diag <"$TMPD/err"
[ "$(wc -l <"$TMPD/ids")" -eq 3 ]
ok $? "the three profiles are imported, one id a line"
[ ! -e "$TMPD/store/svc/quarantine" ] &&
    [ "$(find "$TMPD/store/svc" -name '*.pb.gz' | wc -l)" -eq 3 ]
ok $? "the store holds the three snapshots, and nothing of the bad file"

# Ids sort in time order: the first scraped has the smallest.
first=$(awk '$2 ~ /in1/ { print $1 }' "$TMPD/ids")
last=$(awk '$2 ~ /in3/ { print $1 }' "$TMPD/ids")
[ "$(sort -n "$TMPD/ids" | head -1 | cut -d' ' -f1)" = "$first" ] &&
    [ "$(sort -n "$TMPD/ids" | tail -1 | cut -d' ' -f1)" = "$last" ]
ok $? "snapshot ids follow the profiles' times ($first .. $last)"

while read -r id file; do
	"$HW" export "$TMPD/store/svc" "$id" >"$TMPD/out.pb.gz"
	rc=$?
	[ "$rc" -eq 0 ] && cmp -s "$TMPD/out.pb.gz" "$file"
	ok $? "export $id gives back ${file##*/} byte for byte"
done <"$TMPD/ids"

"$HW" top -n 3 "$TMPD/out.pb.gz" >"$TMPD/top" 2>&1
ok $? "an exported snapshot reads as a profile"

"$HW" judge "$TMPD/store/svc" >"$TMPD/judge" 2>&1
ok $? "heapwatch judge reads the imported folder"
diag <"$TMPD/judge"

"$HW" export "$TMPD/store/svc" 123 >"$TMPD/out" 2>"$TMPD/err"
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$TMPD/out" ] && grep -q 123 "$TMPD/err"
ok $? "export of a snapshot that is not there exits 1 and says so"
"$HW" export "$TMPD/store/svc" ../../etc/passwd >"$TMPD/out" 2>/dev/null
rc=$?
[ "$rc" -eq 1 ] && [ ! -s "$TMPD/out" ]
ok $? "an id that is a path is refused"
"$HW" export "$TMPD/store/svc" >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "export without an id is a usage error"

done_testing
