#!/usr/bin/env bash
# heapwatch's and heapwatchd's usage errors: each exits 2 and says why on
# the first line of standard error, under the program's name, before the
# usage; an option that heapwatch's command would ignore is one of them.
. "$(dirname "$0")/lib.sh"

HW="$top_builddir/heapwatch"

# usage_error DESCRIPTION WANT COMMAND...: exit 2, nothing on standard
# output, the first line of standard error WANT (a pattern, as [[ == ]]
# takes), then the usage.
usage_error() {
	local what=$1 want=$2 rc first
	shift 2
	"$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	first=$(head -1 "$TMPD/err")
	if [ "$rc" -eq 2 ] && [ ! -s "$TMPD/out" ] &&
	    [[ $first == $want ]] && sed -n 2p "$TMPD/err" |
	    grep -q "^usage: heapwatch top"; then
		ok 0 "$what: $first"
	else
		ok 1 "$what (exit $rc, first line \"$first\")"
		diag <"$TMPD/err"
	fi
}

usage_error "no command" "heapwatch: no command given" "$HW"
usage_error "an unknown command" 'heapwatch: unknown command "tops"' \
    "$HW" tops a.pb.gz
usage_error "an option before the command" \
    "heapwatch: --json: the command comes first (top, diff, list, judge, export, import), then its options" \
    "$HW" --json top a.pb.gz
usage_error "an unknown option" "heapwatch: *--bogus*" \
    "$HW" top --bogus a.pb.gz
usage_error "an option without its value" \
    "heapwatch: option requires an argument*" "$HW" top a.pb.gz -n
usage_error "top of two files" "heapwatch: top takes one PROFILE, not 2" \
    "$HW" top a.pb.gz b.pb.gz
usage_error "diff of one file" "heapwatch: diff takes BASE CURRENT, or one URL" \
    "$HW" diff a.pb.gz
usage_error "list without a profile" \
    "heapwatch: list takes REGEX and one or two profiles" "$HW" list 'main\.'
usage_error "judge of two folders" "heapwatch: judge takes one DIR, not 2" \
    "$HW" judge a b
usage_error "export without an id" "heapwatch: export takes DIR ID" \
    "$HW" export a
usage_error "import without a profile" \
    "heapwatch: import takes DIR and one PROFILE or more" "$HW" import a

# Options the command does not take: refused before anything is read, so
# the files need not exist.
usage_error "judge -i" "heapwatch: judge does not take -i/--sample-index" \
    "$HW" judge -i goroutine dir
usage_error "judge --cum" "heapwatch: judge does not take --cum" \
    "$HW" judge --cum dir
usage_error "top --interval" "heapwatch: top does not take --interval" \
    "$HW" top --interval 5m a.pb.gz
usage_error "list -n" "heapwatch: list does not take -n/--nodes" \
    "$HW" list -n 3 'main\.' a.pb.gz
usage_error "export --json" "heapwatch: export does not take --json" \
    "$HW" export --json dir 1
usage_error "diff --pack" "heapwatch: diff does not take --pack" \
    "$HW" diff --pack a.pb.gz b.pb.gz
usage_error "import --window" "heapwatch: import does not take --window" \
    "$HW" import --window 5m dir a.pb.gz
usage_error "judge --interval, with a bad value" \
    "heapwatch: judge does not take --interval" "$HW" judge --interval 0 dir
usage_error "diff --interval of two files" \
    "heapwatch: diff takes --interval with one URL only" \
    "$HW" diff --interval 5s a.pb.gz b.pb.gz

# What each command takes still passes the check, to the files' errors.
for args in "top --max-size 1MiB --timeout 5s --times -n 3 --cum --json -i 0 @F@" \
    "diff --max-size 1MiB --timeout 5s --times -n 3 --cum --json -i 0 @F@ @F@" \
    "list --max-size 1MiB --timeout 5s --json -i 0 --source-path . --trim-path /src main @F@" \
    "judge --max-size 1MiB --window 30s --for 10s --min-growth 4MiB --json @F@" \
    "export --max-size 1MiB @F@ 1" \
    "import --max-size 1MiB --pack $TMPD/svc @F@"; do
	# shellcheck disable=SC2086
	"$HW" ${args//@F@/$TMPD/nofile.pb.gz} >/dev/null 2>"$TMPD/err"
	rc=$?
	[ "$rc" -eq 1 ] && grep -q "nofile.pb.gz: No such file or directory" \
	    "$TMPD/err"
	ok $? "${args%% *} takes its options: exit $rc, $(head -1 "$TMPD/err")"
done
# diff of one URL takes --interval: a port nobody listens on refuses it.
"$HW" diff --interval 1s --timeout 5s http://127.0.0.1:9/debug/pprof/heap \
    >/dev/null 2>"$TMPD/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "127.0.0.1:9" "$TMPD/err"
ok $? "diff URL takes --interval: exit $rc, $(head -1 "$TMPD/err")"

# heapwatchd's own usage errors, the same way.
HWD="$top_builddir/heapwatchd"
hwd_error() {	# hwd_error DESCRIPTION WANT ARG...
	local what=$1 want=$2 rc first
	shift 2
	"$HWD" "$@" >"$TMPD/out" 2>"$TMPD/err"
	rc=$?
	first=$(head -1 "$TMPD/err")
	[ "$rc" -eq 2 ] && [ ! -s "$TMPD/out" ] && [[ $first == $want ]] &&
	    sed -n 2p "$TMPD/err" | grep -q "^usage: heapwatchd"
	ok $? "heapwatchd, $what (exit $rc): $first"
}
hwd_error "no -c" "heapwatchd: -c FILE, the configuration, is needed" -t
hwd_error "an argument after the options" \
    "heapwatchd: unexpected argument: extra" -t -c hw.yaml extra
hwd_error "an unknown long option" "heapwatchd: *--bogus*" \
    --bogus
hwd_error "an unknown option" "heapwatchd: invalid option*" -q
"$HWD" --help >"$TMPD/out" 2>&1 && grep -q "^usage: heapwatchd" "$TMPD/out"
ok $? "heapwatchd --help prints the usage and exits 0"

done_testing
