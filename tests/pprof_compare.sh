#!/usr/bin/env bash
# heapwatch's numbers are pprof's: real Go services (tests/fixture) are run,
# their heap and goroutine profiles fetched, and every function's flat and
# cum, the order, and the total are compared with what
# `go tool pprof -top -nodecount=1000000 -nodefraction=0 -unit=B` prints,
# for all four heap sample types, goroutine profiles, and diffs (-base).
. "$(dirname "$0")/lib.sh"

# Profiles are kept in the build tree: the fuzzer takes them as seeds.
profiles="$top_builddir/tests/profiles"
mkdir -p "$profiles"

# pprof's table as "name<TAB>flat<TAB>cum" lines in its order, and its
# total on the first line.
pprof_table() {	# pprof_table OUT PPROF-ARGS...
	local out=$1
	shift
	go tool pprof -top -nodecount=1000000 -nodefraction=0 \
	    -edgefraction=0 -unit=B "$@" 2>"$TMPD/pprof.err" | awk '
		/^Showing nodes accounting for/ {
			t = $(NF - 1); sub(/B$/, "", t); print "total\t" t
		}
		/^ *flat  flat%/ { body = 1; next }
		body {
			f = $1; c = $4; sub(/B$/, "", f); sub(/B$/, "", c)
			name = $6
			for (i = 7; i <= NF; i++)
				if ($i != "(inline)" && $i != "(partial-inline)")
					name = name " " $i
			print name "\t" f "\t" c
		}' >"$out"
}

# heapwatch's table in the same form.
heapwatch_table() {	# heapwatch_table OUT HEAPWATCH-ARGS...
	local out=$1
	shift
	"$HEAPWATCH" "$@" --json | jq -r '"total\t\(.total)",
	    (.functions[] | "\(.name)\t\(.flat)\t\(.cum)")' >"$out"
}

# compare DESCRIPTION "PPROF-ARGS" "HEAPWATCH-ARGS"
compare() {
	local what=$1 n
	# shellcheck disable=SC2086
	pprof_table "$TMPD/want" $2
	# shellcheck disable=SC2086
	heapwatch_table "$TMPD/got" $3
	n=$(($(wc -l <"$TMPD/want") - 1))
	if [ "$n" -ge 1 ] && cmp -s "$TMPD/want" "$TMPD/got"; then
		ok 0 "$what: $n functions and the total match pprof"
	else
		ok 1 "$what: differs from pprof ($n functions)"
		diff "$TMPD/want" "$TMPD/got" | head -n 20 | diag
		diag <"$TMPD/pprof.err"
	fi
}

types="alloc_objects alloc_space inuse_objects inuse_space"

# Run the fixture in MODE and keep its profile at PATH before and after
# /mutate, as NAME-a.pb.gz and NAME-b.pb.gz.
profile_pair() {	# profile_pair MODE PATH NAME
	if ! fixture_start "$1"; then
		ok 1 "fixture $1 starts"
		return 1
	fi
	fetch "$FIXTURE_URL$2" "$profiles/$3-a.pb.gz"
	ok $? "$3: profile fetched"
	fetch "$FIXTURE_URL/mutate" /dev/null -X POST &&
	    fetch "$FIXTURE_URL$2" "$profiles/$3-b.pb.gz"
	ok $? "$3: profile fetched after /mutate"
	fixture_stop
	return 0
}

# Heap profiles of the shapes fixture (recursion, mutual recursion, inlined
# frames), before and after /mutate, from two runs of the binary.
profile_pair shapes /debug/pprof/heap shapes1 &&
    profile_pair shapes /debug/pprof/heap shapes2 || { done_testing; exit; }
a=$profiles/shapes1-a.pb.gz
b=$profiles/shapes1-b.pb.gz
b2=$profiles/shapes2-b.pb.gz

compare "top, default sample type" "$a" "top $a"
for t in $types; do
	compare "top -i $t" "-sample_index=$t $a" "top -i $t $a"
	compare "diff -i $t" "-sample_index=$t -base $a $b" "diff -i $t $a $b"
done
compare "diff with values going negative" "-sample_index=inuse_space -base $b $a" \
    "diff -i inuse_space $b $a"
compare "diff of profiles from two runs of one binary" \
    "-sample_index=inuse_space -base $a $b2" "diff -i inuse_space $a $b2"
pprof_table "$TMPD/want" -base "$a" "$a"
heapwatch_table "$TMPD/got" diff "$a" "$a"
cmp -s "$TMPD/want" "$TMPD/got" && [ "$(cat "$TMPD/got")" = "$(printf 'total\t0')" ]
ok $? "diff of a profile with itself: empty, total 0, as pprof"
compare "top --cum" "-cum -sample_index=alloc_space $b" "top --cum -i alloc_space $b"

# Recursion and inlining are really in the profile: main.recurse appears
# many times in one stack yet its cum equals its flat (it is the leaf of
# every sample it is in), and pprof marks main.newBuf as inlined.
depth=$(go tool pprof -traces -sample_index=inuse_objects "$a" 2>/dev/null |
    awk '/^-----/ { if (n > m) m = n; n = 0 } /main\.recurse$/ { n++ }
    END { if (n > m) m = n; print m + 0 }')
[ "$depth" -ge 10 ]
ok $? "main.recurse recurs $depth times in one stack"
"$HEAPWATCH" top --json -i inuse_objects "$a" |
    jq -e '.functions[] | select(.name == "main.recurse") |
    .cum == .flat and .cum > 0' >/dev/null
ok $? "its cum counts each sample once"
go tool pprof -top -nodefraction=0 "$a" 2>/dev/null |
    grep -q "main.newBuf (inline)"
ok $? "pprof reports main.newBuf as inlined, and heapwatch agrees above"

# Tens of thousands of samples.
profile_pair many /debug/pprof/heap many || { done_testing; exit; }
n=$(go tool pprof -traces "$profiles/many-a.pb.gz" 2>/dev/null | grep -c '^-----')
[ "$n" -ge 30000 ]
ok $? "many: the profile has $n samples"
compare "many: top" "-sample_index=inuse_space $profiles/many-a.pb.gz" \
    "top -i inuse_space $profiles/many-a.pb.gz"
compare "many: diff" "-sample_index=alloc_objects -base $profiles/many-a.pb.gz $profiles/many-b.pb.gz" \
    "diff -i alloc_objects $profiles/many-a.pb.gz $profiles/many-b.pb.gz"

# Goroutine profiles.
profile_pair goroutines /debug/pprof/goroutine goroutine ||
    { done_testing; exit; }
ga=$profiles/goroutine-a.pb.gz
gb=$profiles/goroutine-b.pb.gz
compare "goroutine: top" "$ga" "top $ga"
compare "goroutine: top -i goroutine" "-sample_index=goroutine $gb" "top -i goroutine $gb"
compare "goroutine: diff" "-base $ga $gb" "diff $ga $gb"
compare "goroutine: diff, negative" "-base $gb $ga" "diff $gb $ga"

# The text itself: pprof's -top, line for line (its default hides the
# inline markers of calls under 0.1% of the total: -edgefraction=0 shows
# them all, as heapwatch does).
text_compare() {	# text_compare DESCRIPTION "PPROF-ARGS" "HEAPWATCH-ARGS"
	# shellcheck disable=SC2086
	go tool pprof -top -nodefraction=0 -edgefraction=0 $2 \
	    >"$TMPD/want.txt" 2>/dev/null
	# shellcheck disable=SC2086
	"$HEAPWATCH" $3 >"$TMPD/got.txt"
	if [ -s "$TMPD/want.txt" ] && cmp -s "$TMPD/want.txt" "$TMPD/got.txt"
	then
		ok 0 "text of $1 is pprof's, byte for byte"
	else
		ok 1 "text of $1 differs from pprof's"
		diff "$TMPD/want.txt" "$TMPD/got.txt" | head -n 20 | diag
	fi
}
text_compare "top" "$a" "top $a"
text_compare "top -n 7" "-nodecount=7 $b" "top -n 7 $b"
text_compare "diff -i alloc_space" "-sample_index=alloc_space -base $a $b" \
    "diff -i alloc_space $a $b"
text_compare "diff --cum, two runs" "-cum -base $a $b2" "diff --cum $a $b2"
text_compare "many: diff" "-base $profiles/many-a.pb.gz $profiles/many-b.pb.gz" \
    "diff $profiles/many-a.pb.gz $profiles/many-b.pb.gz"
text_compare "goroutine: diff" "-base $ga $gb" "diff $ga $gb"

# list: pprof's -list, byte for byte, and its numbers in --json.
# list_compare DESCRIPTION REGEX "PPROF-OPTIONS" "HEAPWATCH-OPTIONS" FILE...
# (with two files, the first is the base).
list_compare() {
	local what=$1 re=$2 popts=$3 hopts=$4 base=()
	shift 4
	[ $# -eq 2 ] && base=(-base "$1")
	# shellcheck disable=SC2086
	go tool pprof $popts -list="$re" "${base[@]}" "${@: -1}" \
	    >"$TMPD/want.txt" 2>"$TMPD/want.err"
	echo "exit $?" >>"$TMPD/want.err"
	# shellcheck disable=SC2086
	"$HEAPWATCH" list $hopts "$re" "$@" >"$TMPD/got.txt" 2>"$TMPD/got.err"
	echo "exit $?" >>"$TMPD/got.err"
	sed -i 's/^heapwatch: //' "$TMPD/got.err"
	if cmp -s "$TMPD/want.txt" "$TMPD/got.txt" &&
	    cmp -s "$TMPD/want.err" "$TMPD/got.err"; then
		ok 0 "list $what: pprof's text, $(wc -l <"$TMPD/got.txt") lines"
	else
		ok 1 "list $what: differs from pprof's"
		diff "$TMPD/want.txt" "$TMPD/got.txt" | head -n 20 | diag
		diff "$TMPD/want.err" "$TMPD/got.err" | head -n 5 | diag
	fi
}

# pprof's listing in bytes (-unit=B) and heapwatch's --json, both as
# "ROUTINE name file flat cum" and "line flat cum" lines.
# list_numbers DESCRIPTION REGEX "PPROF-OPTIONS" "HEAPWATCH-OPTIONS" FILE...
list_numbers() {
	local what=$1 re=$2 popts=$3 hopts=$4 base=()
	shift 4
	[ $# -eq 2 ] && base=(-base "$1")
	# shellcheck disable=SC2086
	go tool pprof $popts -unit=B -list="$re" "${base[@]}" "${@: -1}" \
	    2>/dev/null | awk '
		function v(x) { if (x == ".") return 0; sub(/B$/, "", x); return x }
		/^ROUTINE/ { fn = $3; file = $5; next }
		/\(flat, cum\)/ { print "ROUTINE " fn " " file " " v($1) " " v($2); next }
		/^ +[^ ]+ +[^ ]+ +[0-9]+:/ {
			n = $3; sub(/:.*/, "", n); print n " " v($1) " " v($2)
		}' >"$TMPD/want.num"
	# shellcheck disable=SC2086
	"$HEAPWATCH" list --json $hopts "$re" "$@" | jq -r '.functions[] |
	    "ROUTINE \(.name) \(.file) \(.flat) \(.cum)",
	    (.lines[] | "\(.line) \(.flat) \(.cum)")' >"$TMPD/got.num"
	if [ -s "$TMPD/want.num" ] && cmp -s "$TMPD/want.num" "$TMPD/got.num"
	then
		ok 0 "list --json $what: pprof's numbers, $(grep -c '^ROUTINE' \
		    "$TMPD/got.num") functions"
	else
		ok 1 "list --json $what: numbers differ from pprof's"
		diff "$TMPD/want.num" "$TMPD/got.num" | head -n 20 | diag
	fi
}

# The fixture's source is where the profile says (this tree's
# tests/fixture/main.go), so pprof shows it; main.newBuf and main.newRecord
# are inlined frames, main.ping and main.pong call each other.
fixture_src="$top_srcdir/tests/fixture/main.go"
grep -q "$(cd "$(dirname "$fixture_src")" && pwd)/main.go" \
    <(go tool pprof -list='main\.recurse' "$a" 2>/dev/null)
ok $? "list: the profile names the fixture's source, which exists"
list_compare "default sample type" 'main\.' "" "" "$a"
for t in $types; do
	list_compare "-i $t, several functions" 'main\.(recurse|ping|pong)' \
	    "-sample_index=$t" "-i $t" "$a"
	list_compare "-i $t, inlined frames" 'newBuf|newRecord' \
	    "-sample_index=$t" "-i $t" "$a"
	list_compare "diff -i $t" 'main\.' "-sample_index=$t" "-i $t" "$a" "$b"
	list_numbers "-i $t" 'main\.' "-sample_index=$t" "-i $t" "$a"
	list_numbers "diff -i $t" 'main\.|runtime\.malg' "-sample_index=$t" \
	    "-i $t" "$a" "$b"
done
list_compare "diff going negative" 'main\.' "" "" "$b" "$a"
list_compare "diff of two runs" 'main\.' "" "" "$a" "$b2"
list_compare "of runtime sources" 'runtime\.(malg|allocm)' "" "" "$a"
list_compare "matching nothing" 'no_such_function' "" "" "$a"
list_compare "a diff of a profile with itself" 'main\.' "" "" "$a" "$a"
list_compare "goroutine" 'main\.|gopark' "" "" "$ga"
list_compare "goroutine diff" 'main\.' "" "" "$ga" "$gb"
list_numbers "goroutine diff" 'main\.' "" "" "$gb" "$ga"
# Tens of thousands of samples whose stacks recur through two functions at
# several lines each: a line's cum counts each sample once.
list_compare "many: diff" 'main\.many' "" "" "$profiles/many-a.pb.gz" \
    "$profiles/many-b.pb.gz"

# Sources not found: a trimmed path looked for where it is not, and found
# again below the right directory.
root=$(cd "$top_srcdir" && pwd)
list_compare "--trim-path, not found" 'main\.recurse' \
    "-trim_path=$root -source_path=$TMPD" \
    "--trim-path $root --source-path $TMPD" "$a"
list_compare "--trim-path, found below --source-path" 'main\.recurse' \
    "-trim_path=$root/ -source_path=$TMPD:$root" \
    "--trim-path $root/ --source-path $TMPD --source-path $root" "$a"
list_compare "found from a parent of --source-path" 'main\.ping' \
    "-trim_path=$root -source_path=$root/tests/fixture" \
    "--trim-path $root --source-path $root/tests/fixture" "$a"
"$HEAPWATCH" list --json --trim-path "$root" --source-path "$TMPD" \
    'main\.(recurse|ping)' "$a" | jq -e --arg d "$TMPD" '
    .functions | length == 2 and all(.[];
	.file == "tests/fixture/main.go" and
	.error == "could not find file tests/fixture/main.go on path \($d)" and
	(.lines | length) > 0 and all(.lines[]; .text == null) and
	([.lines[].flat] | add) == .flat and .cum > 0)' >/dev/null
ok $? "list --json without the source: the sampled lines, no text"
"$HEAPWATCH" list --json 'main\.recurse' "$a" | jq -e '
    .functions[0] | (.lines | length) > 10 and
    (.lines[] | select(.text == "func recurse(level int) {")) and
    ([.lines[].flat] | add) == .flat' >/dev/null
ok $? "list --json with the source: its lines' text"

# A source moved after the build: the absolute path in the profile is
# gone (pprof's "open ...: no such file or directory"), and --trim-path
# with --source-path find it where it went.
mkdir -p "$TMPD/build"
cp -r "$top_srcdir/tests/fixture" "$TMPD/build/fixture"
if (cd "$TMPD/build/fixture" && go build -o "$TMPD/moved-svc" .) &&
    serve_start "moved fixture" "$TMPD/moved-svc" -listen 127.0.0.1:0 \
    -mode shapes; then
	fetch "$STARTED_URL/debug/pprof/heap" "$TMPD/moved.pb.gz"
	ok $? "moved: profile fetched"
	kill "$STARTED_PID"
	mv "$TMPD/build" "$TMPD/elsewhere"
	list_compare "of a moved source" 'main\.(recurse|ping)' "" "" \
	    "$TMPD/moved.pb.gz"
	grep -q "^ Error: open $TMPD/build/fixture/main.go: no such file" \
	    "$TMPD/got.txt"
	ok $? "list: the moved source is not found"
	list_compare "of a moved source, found again" 'main\.(recurse|ping)' \
	    "-trim_path=$TMPD/build -source_path=$TMPD/elsewhere" \
	    "--trim-path $TMPD/build --source-path $TMPD/elsewhere" \
	    "$TMPD/moved.pb.gz"
	grep -q "func recurse(level int) {" "$TMPD/got.txt"
	ok $? "list: the moved source is shown"
else
	ok 1 "the fixture builds and runs from a copy"
fi

done_testing
