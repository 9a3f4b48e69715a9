#!/usr/bin/env bash
# The manual pages: groff formats each without a warning; heapwatchd.yaml(5)
# and the sample etc/heapwatchd.yaml name every key the configuration
# parser accepts; heapwatchd(8) names every metric heapwatchd exports. The
# keys and metrics are read from the sources, so new ones must be documented.
. "$(dirname "$0")/lib.sh"

man=$top_srcdir/man
pages="heapwatch.1 heapwatchd.8 heapwatchd.yaml.5"

# Print the words of stdin, one per line, as a "# " list; nothing if none.
list() {
	tr ' ' '\n' | sed '/^$/d' | diag
}

# 1. Each page exists and formats cleanly, for print and for a terminal
# of 80 columns (what man(1) uses there).
for p in $pages; do
	[ -f "$man/$p" ]
	ok $? "man/$p exists"
done
if command -v groff >/dev/null; then
	for f in "$man"/*.[1-8]; do
		[ -f "$f" ] || continue
		{
			groff -man -ww -z "$f"
			groff -man -ww -z -Tutf8 -rLL=78n "$f"
		} >"$TMPD/groff.out" 2>&1
		[ ! -s "$TMPD/groff.out" ]
		ok $? "groff -man -ww formats man/${f##*/} without a warning"
		diag <"$TMPD/groff.out"
	done
else
	ok 0 "groff formats the pages # SKIP groff is not installed"
fi

# Whether FILE has a tagged paragraph (.TP) whose tag starts with WORD,
# then a match of FOLLOWED: ".B WORD{...}", ".BI "WORD: " type" and the
# like. A mention in running text does not count.
tagged() {	# tagged FILE WORD FOLLOWED
	TAG_RE="^\\.B[IR]?[ \t]+\"?(\\\\%)?$2($3)" awk '
	    BEGIN { re = ENVIRON["TAG_RE"] }
	    prev ~ /^\.TP/ && $0 ~ re { found = 1 }
	    { prev = $0 }
	    END { exit !found }' "$1"
}

# 2. Configuration keys: the names of the key tables of src/config.c,
# entries such as [TK_MIN_GROWTH] = "min_growth".
keys=$(grep -oE '\[[A-Z]{2}_[A-Z0-9_]+\][[:space:]]*=[[:space:]]*"[a-z0-9_]+"' \
    "$top_srcdir/src/config.c" | sed 's/.*"\(.*\)"/\1/' | sort -u)
n=$(echo "$keys" | sed '/^$/d' | wc -l)
[ "$n" -ge 10 ]
ok $? "src/config.c's key tables name $n keys"

missing=
for k in $keys; do
	[ -f "$man/heapwatchd.yaml.5" ] && tagged "$man/heapwatchd.yaml.5" "$k" ':' ||
	    missing="$missing $k"
done
[ -z "$missing" ]
ok $? "heapwatchd.yaml(5) documents every configuration key"
[ -n "$missing" ] && echo "keys missing from man/heapwatchd.yaml.5:$missing" |
    diag

missing=
for k in $keys; do
	grep -Eq "(^|[^A-Za-z0-9_])$k:" "$top_srcdir/etc/heapwatchd.yaml" ||
	    missing="$missing $k"
done
[ -z "$missing" ]
ok $? "etc/heapwatchd.yaml shows every configuration key"
[ -n "$missing" ] && echo "keys missing from etc/heapwatchd.yaml:$missing" |
    diag

# 3. Metrics: every "heapwatch_... and "process_... string of src/*.c,
# where each subsystem keeps the table of its families.
metrics=$(cat "$top_srcdir"/src/*.c | grep -oE '"(heapwatch|process)_[a-z0-9_]+' |
    tr -d '"' | sort -u)
n=$(echo "$metrics" | sed '/^$/d' | wc -l)
[ "$n" -ge 5 ]
ok $? "src/*.c export $n metrics"

missing=
for m in $metrics; do
	[ -f "$man/heapwatchd.8" ] &&
	    tagged "$man/heapwatchd.8" "$m" '[{[:space:]"]|$' ||
	    missing="$missing $m"
done
[ -z "$missing" ]
ok $? "heapwatchd(8) documents every metric"
[ -n "$missing" ] && echo "metrics missing from man/heapwatchd.8:$missing" |
    diag

done_testing
