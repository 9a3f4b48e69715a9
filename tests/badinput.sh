#!/usr/bin/env bash
# Bad input never crashes heapwatch: every file of the corpus made by
# tests/mkbad is refused with one line on stderr and a non-zero exit.
. "$(dirname "$0")/lib.sh"

corpus="$TMPD/corpus"
mkdir -p "$corpus"
"$top_builddir/tests/mkbad" "$corpus"
ok $? "corpus written"

# A run is refused cleanly: exit status 1 (no signal), nothing on stdout,
# exactly one non-empty line on stderr.
refused() {	# refused DESCRIPTION COMMAND...
	local what=$1 rc lines
	shift
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	lines=$(wc -l <"$TMPD/err")
	if [ "$rc" -eq 1 ] && [ ! -s "$TMPD/out" ] && [ "$lines" -eq 1 ] &&
	    grep -q . "$TMPD/err"; then
		ok 0 "$what: $(cat "$TMPD/err")"
	else
		ok 1 "$what (exit $rc, $lines stderr lines)"
		diag <"$TMPD/err"
	fi
}

"$HEAPWATCH" top "$corpus/valid.pb.gz" >"$TMPD/out" 2>&1
ok $? "the valid profile of the corpus is accepted"
grep -q "main.leak" "$TMPD/out"
ok $? "and lists its function"

for f in "$corpus"/*; do
	name=$(basename "$f")
	case $name in valid.pb.gz|bomb.pb.gz|tiny-records.pb.gz) continue ;; esac
	refused "top $name" "$HEAPWATCH" top "$f"
	refused "diff with $name as current" "$HEAPWATCH" diff \
	    "$corpus/valid.pb.gz" "$f"
	refused "diff with $name as base" "$HEAPWATCH" diff --json "$f" \
	    "$corpus/valid.pb.gz"
	refused "list of $name" "$HEAPWATCH" list . "$f"
	refused "list of valid.pb.gz to $name" "$HEAPWATCH" list --json . \
	    "$corpus/valid.pb.gz" "$f"
done

refused "a missing file" "$HEAPWATCH" top "$TMPD/no-such-file"
refused "a folder" "$HEAPWATCH" top "$TMPD"
refused "an unknown sample type" "$HEAPWATCH" top -i cpu \
    "$corpus/valid.pb.gz"

# The gzip bomb inflates to 1 GiB: it must stop at the cap, quickly and
# without taking the memory it claims.
start=$(date +%s%N)
refused "a gzip bomb" "$HEAPWATCH" top "$corpus/bomb.pb.gz"
grep -q "256 MiB limit" "$TMPD/err"
ok $? "the bomb is refused at the 256 MiB default cap"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "# bomb refused in $ms ms"
refused "a gzip bomb under a 1 MiB cap" "$HEAPWATCH" top --max-size 1MiB \
    "$corpus/bomb.pb.gz"
grep -q "1 MiB limit" "$TMPD/err"
ok $? "the cap is settable"
# A profile of a million tiny records, within the cap, would multiply
# into fifty times its size decoded: the tables are capped at twice it.
refused "tiny records under a 1 MiB cap" "$HEAPWATCH" top --max-size 1MiB \
    "$corpus/tiny-records.pb.gz"
grep -q "decoded profile exceeds 2 MiB, twice the size limit" "$TMPD/err"
ok $? "the decoded tables are capped at twice the cap"
refused "tiny records" "$HEAPWATCH" top "$corpus/tiny-records.pb.gz"

if ! ldd "$HEAPWATCH" 2>/dev/null | grep -q libasan; then
	# Without sanitizers, an address-space limit shows the bomb is
	# refused without ever holding more than the cap.
	( ulimit -v 40000; "$HEAPWATCH" top "$corpus/bomb.pb.gz" ) \
	    >/dev/null 2>"$TMPD/err"
	grep -q "MiB limit" "$TMPD/err"
	ok $? "the bomb is refused within 40 MB of address space"
	# A length too long to read is malformed, not cut by the window:
	# refused at once, not after inflating the 250 MiB behind it.
	( ulimit -v 40000; "$HEAPWATCH" top "$corpus/lenbomb.pb.gz" ) \
	    >/dev/null 2>"$TMPD/err"
	grep -q "malformed" "$TMPD/err"
	ok $? "a length in six bytes is refused as malformed within 40 MB:\
 $(head -n 1 "$TMPD/err" | cut -c 1-100)"
fi

done_testing
