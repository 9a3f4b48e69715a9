#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine to the verdict.
#
#   1. installs the Debian packages it needs when they are missing;
#   2. a plain build runs `make check`: unit tests, the bad-input corpus,
#      and every number compared with `go tool pprof` on real Go services;
#   3. an ASan+UBSan build runs `make check` again;
#   4. make distcheck: the tarball builds, installs and uninstalls;
#   5. a libFuzzer build (clang) fuzzes the decoder, the configuration
#      loader, the gctrace line parser and the reader of target files
#      for FUZZ_SECONDS (default 60) each, seeded with real profiles, the
#      configuration corpus, real gctrace output and target files.
#
# Its last line is "N passed, N failed", counting every TAP check.
set -u
cd "$(dirname "$0")" || exit 1
top=$(pwd)
. tools/deps.sh

passed=0
failed=0
summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if ! deps_install $DEPS_BUILD $DEPS_TEST; then
	echo "check.sh: could not install the Debian packages needed" >&2
	failed=1
	summary
fi
if ! ./autogen.sh >/dev/null 2>"$top/_autogen.log"; then
	cat "$top/_autogen.log" >&2
	failed=1
	summary
fi
rm -f "$top/_autogen.log"

# Count the TAP results of a build's test-suite.log.
tally() {
	local log=$1/test-suite.log p f e
	if [ ! -f "$log" ]; then
		failed=$((failed + 1))
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log")
	f=$(sed -n 's/^# FAIL: *//p' "$log")
	e=$(sed -n 's/^# ERROR: *//p' "$log")
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	# Show what failed, so that CI output says why.
	grep -h -B2 -A8 '^not ok\|^ERROR' "$1"/tests/*.log 2>/dev/null |
	    head -n 200
}

# build NAME CONFIGURE-ARGS...: configure and build in _build/NAME.
build() {
	local dir=$top/_build/$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" -q "$@" >/dev/null &&
	    make -j2 -s >/dev/null) || {
		echo "check.sh: the build in $dir failed" >&2
		return 1
	}
}

run_suite() {	# run_suite NAME CONFIGURE-ARGS...
	local name=$1
	shift
	echo "== $name build"
	if ! build "$name" "$@"; then
		failed=$((failed + 1))
		return
	fi
	(cd "$top/_build/$name" && make -j2 -s check >/dev/null 2>&1)
	grep -h '^# \(PASS\|FAIL\|ERROR\)' "$top/_build/$name/test-suite.log"
	tally "$top/_build/$name"
}

run_suite plain
run_suite asan --enable-asan

# The release tarball builds, passes the unit tests, installs and
# uninstalls cleanly out of tree (the full suite has run above).
echo "== make distcheck"
if (cd "$top/_build/plain" && make -s distcheck \
    TESTS="tests/test_units tests/test_detect tests/test_judge tests/docs.sh" \
    >distcheck.log 2>&1); then
	passed=$((passed + 1))
	tail -n 3 "$top/_build/plain/distcheck.log"
else
	failed=$((failed + 1))
	tail -n 30 "$top/_build/plain/distcheck.log"
fi

# fuzz NAME SEEDS: run a fuzz target of the fuzz build; one check.
fuzz() {
	local fz=$top/_build/fuzz
	rm -rf "$fz/corpus-$1"
	mkdir -p "$fz/corpus-$1"
	if (cd "$fz" && ./tests/"$1" -max_total_time="${FUZZ_SECONDS:-60}" \
	    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	    "corpus-$1" "$2" >"$1.log" 2>&1); then
		passed=$((passed + 1))
		grep -E '^stat::number_of_executed_units|^Done' "$fz/$1.log"
	else
		failed=$((failed + 1))
		tail -n 60 "$fz/$1.log"
	fi
}

echo "== fuzzing the decoder, the configuration loader, the gctrace parser and the target files' reader, ${FUZZ_SECONDS:-60} s each"
if build fuzz --enable-fuzzing CC=clang &&
    (cd "$top/_build/fuzz" && make -s tests/fuzz_profile tests/fuzz_config \
    tests/fuzz_gctrace tests/fuzz_discovery tests/mkbad >/dev/null); then
	fz=$top/_build/fuzz
	rm -rf "$fz/seeds" "$fz/config-seeds" "$fz/gctrace-seeds"
	mkdir -p "$fz/seeds" "$fz/config-seeds" "$fz/gctrace-seeds"
	"$fz/tests/mkbad" "$fz/seeds" && rm -f "$fz/seeds/bomb.pb.gz"
	# Inputs the fuzzer once found a fault with, replayed every run.
	cp "$top"/tests/fuzz/* "$fz/seeds/"
	# Real profiles of the fixture service; the large ones slow the
	# fuzzer more than they teach it.
	find "$top/_build/plain/tests/profiles" -name '*.pb.gz' -size -100k \
	    -exec cp {} "$fz/seeds/" \; 2>/dev/null
	cp "$top"/tests/config/*.yaml "$top"/tests/config/bad/*.yaml \
	    "$top/etc/heapwatchd.yaml" \
	    "$fz/config-seeds/"
	fuzz fuzz_profile "$fz/seeds"
	fuzz fuzz_config "$fz/config-seeds"
	cp "$top"/tests/gctrace/*.txt "$fz/gctrace-seeds/"
	fuzz fuzz_gctrace "$fz/gctrace-seeds"
	rm -rf "$fz/sd-seeds"
	mkdir -p "$fz/sd-seeds"
	cp "$top"/tests/sd/* "$fz/sd-seeds/"
	fuzz fuzz_discovery "$fz/sd-seeds"
else
	failed=$((failed + 1))
fi

summary
