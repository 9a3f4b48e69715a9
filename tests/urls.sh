#!/usr/bin/env bash
# heapwatch top, diff and list read profiles from where they live: an
# http:// URL of a real Go service gives what the same profile saved to a
# file gives; diff with one URL takes two snapshots an interval apart; and
# a URL that does not answer a profile is refused with one line.
. "$(dirname "$0")/lib.sh"

# A run is refused cleanly: exit status 1, nothing on stdout, exactly one
# line on stderr, which matches PATTERN.
refused() {	# refused DESCRIPTION PATTERN COMMAND...
	local what=$1 pattern=$2 rc lines
	shift 2
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	lines=$(wc -l <"$TMPD/err")
	if [ "$rc" -eq 1 ] && [ ! -s "$TMPD/out" ] && [ "$lines" -eq 1 ] &&
	    grep -Eq "$pattern" "$TMPD/err"; then
		ok 0 "$what: $(cat "$TMPD/err")"
	else
		ok 1 "$what (exit $rc, $lines stderr lines)"
		diag <"$TMPD/err"
	fi
}

# The static fixture publishes new heap data only at /mutate, so profiles
# fetched one after another are the same.
if ! fixture_start shapes; then
	ok 1 "fixture starts"
	done_testing
	exit
fi
heap=$FIXTURE_URL/debug/pprof/heap
fetch "$heap" "$TMPD/a.pb.gz"
ok $? "profile saved with curl"

"$HEAPWATCH" top --json "$TMPD/a.pb.gz" >"$TMPD/file.json" &&
    "$HEAPWATCH" top --json "$heap" >"$TMPD/url.json" &&
    [ "$(jq '.functions | length' "$TMPD/url.json")" -gt 10 ] &&
    cmp -s "$TMPD/file.json" "$TMPD/url.json"
ok $? "top URL: the file's numbers"
"$HEAPWATCH" list 'main\.(recurse|newBuf)' "$TMPD/a.pb.gz" >"$TMPD/file.txt" &&
    "$HEAPWATCH" list 'main\.(recurse|newBuf)' "$heap" >"$TMPD/url.txt" &&
    grep -q '^ROUTINE .* main.recurse in ' "$TMPD/url.txt" &&
    cmp -s "$TMPD/file.txt" "$TMPD/url.txt"
ok $? "list REGEX URL: the file's listing"
"$HEAPWATCH" diff --json "$heap" "$TMPD/a.pb.gz" >"$TMPD/same.json" &&
    jq -e '.total == 0 and (.functions | length) == 0' "$TMPD/same.json" \
    >/dev/null
ok $? "diff URL FILE of the same heap: nothing"

# diff URL: the first snapshot, then (with heapwatch stopped, so that the
# order does not rest on the machine's speed) /mutate, then the second.
"$HEAPWATCH" diff --json --interval 10s "$heap" >"$TMPD/two.json" \
    2>"$TMPD/two.err" &
hw=$!
if wait_for 60 grep -q "took the first snapshot, the second in 10s" \
    "$TMPD/two.err"; then
	kill -STOP "$hw"
	fetch "$FIXTURE_URL/mutate" /dev/null -X POST
	ok $? "/mutate between the two snapshots"
	kill -CONT "$hw"
else
	ok 1 "diff URL tells of its first snapshot"
	diag <"$TMPD/two.err"
fi
wait "$hw"
ok $? "diff --interval 10s URL exits 0"
fetch "$heap" "$TMPD/b.pb.gz"
"$HEAPWATCH" diff --json "$TMPD/a.pb.gz" "$TMPD/b.pb.gz" >"$TMPD/files.json"
jq -e '.net > 0 and any(.functions[]; .name == "main.grown" and .flat > 0)' \
    "$TMPD/two.json" >/dev/null && cmp -s "$TMPD/files.json" "$TMPD/two.json"
ok $? "diff URL: the growth between the snapshots, as diff of the two files"
"$HEAPWATCH" list 'main\.grown' "$heap" "$heap" >"$TMPD/none.txt" 2>&1
grep -q "no matches found for regexp: main\\\\.grown" "$TMPD/none.txt"
ok $? "list REGEX URL URL: fetched twice, the same heap"

refused "an HTML page" "^heapwatch: $FIXTURE_URL/bad/html: not a pprof profile" \
    "$HEAPWATCH" top "$FIXTURE_URL/bad/html"
refused "an HTTP error" "^heapwatch: $FIXTURE_URL/bad/status: HTTP status 500$" \
    "$HEAPWATCH" diff "$FIXTURE_URL/bad/status" "$TMPD/a.pb.gz"
refused "a redirect loop" "redirects" "$HEAPWATCH" list . "$FIXTURE_URL/bad/redirect"
refused "a body over --max-size" "response larger than 2 KiB" \
    "$HEAPWATCH" top --max-size 2KiB "$heap"
refused "a target that does not answer" "$FIXTURE_URL/bad/hang: .*[Tt]imed out" \
    "$HEAPWATCH" top --timeout 1s "$FIXTURE_URL/bad/hang"
refused "diff URL whose first snapshot fails" "HTTP status 500" \
    "$HEAPWATCH" diff --interval 1s "$FIXTURE_URL/bad/status"
fixture_stop
# The fixture's port is closed now.
refused "a refused connection" "^heapwatch: $heap: .*([Cc]onnection refused|[Cc]ouldn't connect)" \
    "$HEAPWATCH" top "$heap"
# Only http and https are fetched: anything else names a file.
refused "file:// is a file name" "^heapwatch: file://.*: No such file" \
    "$HEAPWATCH" top "file://$TMPD/a.pb.gz"

# Gzip bombs served over HTTP: 1 GiB of zeros is refused as soon as it
# is not protobuf; 1 GiB of fields pprof does not know stops at the cap on
# the inflated size.
badtarget_start
ok $? "badtarget starts"
refused "a gzip bomb" "/bomb: not a pprof profile" \
    "$HEAPWATCH" top "$STARTED_URL/bomb"
refused "a gzip bomb of fields" "/fieldbomb: .*exceeds the 4 MiB limit" \
    "$HEAPWATCH" top --max-size 4MiB "$STARTED_URL/fieldbomb"
refused "a truncated profile" "/truncated: " \
    "$HEAPWATCH" top "$STARTED_URL/truncated"

done_testing
