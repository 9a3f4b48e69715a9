#!/usr/bin/env bash
# The subsystems in src/ depend on each other without a cycle: no file's
# includes or calls lead back to it. tools/depgraph lists the edges; it is
# first shown to find a cycle in a made-up pair of files, so that its
# silence on src/ means something.
. "$(dirname "$0")/lib.sh"

depgraph=$top_srcdir/tools/depgraph

mkdir -p "$TMPD/loop"
printf '#include "b.h"\nint\na_run(void)\n{\n\treturn 1;\n}\n' >"$TMPD/loop/a.c"
printf 'int a_run(void);\n' >"$TMPD/loop/a.h"
printf 'int\nb_run(void)\n{\n\treturn a_run();\n}\n' >"$TMPD/loop/b.c"
printf 'int b_run(void);\n' >"$TMPD/loop/b.h"
"$depgraph" "$TMPD/loop" >"$TMPD/loop.out" 2>"$TMPD/loop.err"
[ $? -eq 1 ] && grep -qx "a b include" "$TMPD/loop.out" &&
    grep -qx "b a call" "$TMPD/loop.out" && grep -q "cycle" "$TMPD/loop.err"
ok $? "a.c includes b.h and b.c calls a_run(): the cycle is found"

"$depgraph" "$top_srcdir/src" >"$TMPD/edges" 2>"$TMPD/err"
rc=$?
[ $rc -eq 0 ]
ok $? "no cycle among src/ subsystems"
[ $rc -eq 0 ] || diag <"$TMPD/err"
grep -qx "heapwatchd api call" "$TMPD/edges" &&
    grep -qx "api target include" "$TMPD/edges"
ok $? "the edges name the daemon's use of the api, the api's of targets"
for e in "api heapwatchd" "target heapwatchd" "page api"; do
	! grep -q "^$e " "$TMPD/edges"
	ok $? "no edge $e"
done
done_testing
