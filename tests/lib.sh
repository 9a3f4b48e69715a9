# Shared helpers for the shell tests: TAP output and paths.
# shellcheck shell=bash

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
HEAPWATCH="$top_builddir/heapwatch"
tap_n=0
tap_failed=0

ok() {	# ok CONDITION-STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

diag() {
	sed 's/^/# /'
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# A scratch folder removed on exit.
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/heapwatch-test.XXXXXX")
cleanup_hooks=()
cleanup() {
	local h
	for h in "${cleanup_hooks[@]}"; do eval "$h"; done
	rm -rf "$TMPD"
}
trap cleanup EXIT
