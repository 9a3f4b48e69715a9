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

# The folder given as "." (or ending in it) is the target it resolves to.
(cd "$TMPD/store/svc" && "$HW" judge --json .) >"$TMPD/dot" 2>"$TMPD/err"
[ $? -eq 0 ] && [ "$(jq -r .target "$TMPD/dot")" = svc ]
ok $? "judge . in a target's folder judges that target ($(jq -c \
    '{target, state}' "$TMPD/dot" 2>/dev/null; cat "$TMPD/err"))"
(cd "$TMPD/store/svc" && "$HW" export ./ "$first") >"$TMPD/out.pb.gz" &&
    cmp -s "$TMPD/out.pb.gz" "$TMPD/in1.pb.gz"
ok $? "export ./ ID there gives the snapshot back"
"$HW" judge "$TMPD/store/svc/../svc/." >/dev/null 2>&1
ok $? "so does a path ending in /."

# A folder that is not there, or is a file, is named with what is wrong,
# and import names its folder, not the profile after it.
one_line() {	# one_line DESCRIPTION WANT COMMAND...: exit 1, WANT said
	local what=$1 want=$2 rc
	shift 2
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	[ "$rc" -eq 1 ] && [ "$(cat "$TMPD/err")" = "$want" ]
	ok $? "$what (exit $rc): $(cat "$TMPD/err")"
}
one_line "judge of a folder that is not there" \
    "heapwatch: $TMPD/nosuch: No such file or directory" \
    "$HW" judge "$TMPD/nosuch"
one_line "judge of a profile" \
    "heapwatch: $TMPD/in1.pb.gz: not a directory" \
    "$HW" judge "$TMPD/in1.pb.gz"
ln -s svc "$TMPD/store/link"
one_line "judge through a symbolic link" \
    "heapwatch: $TMPD/store/link/: a symbolic link; give the folder it points to" \
    "$HW" judge "$TMPD/store/link/"
one_line "import without its folder" \
    "heapwatch: $TMPD/in1.pb.gz: not a directory" \
    "$HW" import "$TMPD/in1.pb.gz" "$TMPD/in2.pb.gz"
one_line "import of a profile that is not there" \
    "heapwatch: $TMPD/nosuch.pb.gz: No such file or directory" \
    "$HW" import "$TMPD/store/svc" "$TMPD/nosuch.pb.gz"
"$HW" import --pack "$TMPD/store/pk" "$TMPD/in1.pb.gz" >/dev/null
one_line "export of a packed snapshot that is not there" \
    "heapwatch: $TMPD/store/pk: 123: $TMPD/store/pk/snapshots.db: no snapshot 123" \
    "$HW" export "$TMPD/store/pk" 123

done_testing
