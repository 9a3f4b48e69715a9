#!/usr/bin/env bash
# The subsystems in src/ depend on each other without a cycle: no file's
# includes or calls lead back to it. tools/depgraph lists the edges; it is
# first shown to find a cycle in a made-up pair of files, so that its
# silence on src/ means something. And no file reaches into a struct
# another file owns: tools/structs, shown first to catch made-up readers.
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

structs=$top_srcdir/tools/structs

# a.c owns struct a; b.c copies its definition to read it, c.c reads it
# through a field of its own struct, d.h shows an object d_new() makes.
mkdir -p "$TMPD/reach"
cd "$TMPD/reach" || exit 1
printf 'struct a;\nstruct a *a_new(void);\n' >a.h
printf '#include "a.h"\nstruct a {\n\tint x;\n};\n' >a.c
printf 'struct a {\n\tint x;\n};\nint\nb_x(struct a *p)\n{\n\treturn p->x;\n}\n' >b.c
printf 'struct c {\n\tstruct a\t*a;\n};\nint\nc_x(struct c *h)\n{\n\treturn h->a->x;\n}\n' >c.c
printf 'struct d {\n\tint y;\n};\nstruct d *d_new(void);\n' >d.h
printf '#include "d.h"\n' >d.c
cd - >/dev/null || exit 1
"$structs" "$TMPD/reach" >"$TMPD/reach.out" 2>"$TMPD/reach.err"
rc=$?
[ $rc -eq 1 ] && grep -qx "a a.c opaque b.c c.c" "$TMPD/reach.out"
ok $? "b.c and c.c reading struct a of a.c are named (exit $rc)"
diag <"$TMPD/reach.out"
grep -q "struct a is defined more than once: a.c b.c" "$TMPD/reach.err" &&
    grep -q "struct a of a.c is read by b.c c.c" "$TMPD/reach.err" &&
    grep -q "struct d: d.h makes it, yet d.h shows its fields" "$TMPD/reach.err"
ok $? "... a second definition and an object shown in its header too"
diag <"$TMPD/reach.err"

"$structs" "$top_srcdir/src" >"$TMPD/structs" 2>"$TMPD/err"
rc=$?
[ $rc -eq 0 ]
ok $? "no file in src/ reaches into another's struct"
[ $rc -eq 0 ] || diag <"$TMPD/err"
for s in "judge judge.c opaque" "target target.c opaque" \
    "store store.c opaque" "notifier notifier.c opaque"; do
	grep -qx "$s" "$TMPD/structs"
	ok $? "$(echo "$s" | awk '{ print "struct " $1 " is " $3 \
	    ", read by none but " $2 }')"
done
done_testing
