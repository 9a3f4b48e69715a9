#!/usr/bin/env bash
# The pages as people see them, in a real browser: headless Chromium loads
# the overview, a leaking target's page and a diff, and the rendered DOM
# must show the targets, the chart, the firing alert and the leaking
# function. Screenshots are kept in tests/screenshots of the build tree.
. "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null; then
	ok 1 "chromium is installed (Debian's package)"
	done_testing
	exit
fi
shots="$top_builddir/tests/screenshots"
mkdir -p "$shots"

fixture_start leak || { ok 1 "fixture leak starts"; done_testing; exit; }
leak=$FIXTURE_URL
fixture_start churn || { ok 1 "fixture churn starts"; done_testing; exit; }
churn=$FIXTURE_URL
{
	# Twenty scrapes a window: a window judged needs points across 90%
	# of it, and on a busy machine scrapes land a few hundred
	# milliseconds early or late, which ten a window do not absorb.
	config_head 20s 5s
	cat <<YAML
  - name: api
    url: $leak/debug/pprof/heap
    labels: {team: payments}
    min_growth: 1MiB
  - name: worker
    url: $churn/debug/pprof/heap
    min_growth: 1MiB
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
YAML
} >"$TMPD/hw.yaml"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
firing() { [ "$(target_field api alert)" = firing ]; }
# A window of scrapes, then `for` of them growing: about 25 s.
wait_for 120 firing
ok $? "the leaking target fires"

browse() {	# browse NAME URL: the DOM in NAME.html, a screenshot NAME.png
	local flags=(--headless --no-sandbox --disable-gpu --disable-quic
	    --no-first-run --disable-background-networking
	    --disable-component-update --disable-sync
	    --user-data-dir="$(mktemp -d "$TMPD/chromium.XXXXXX")"
	    --window-size=1280,1000)
	timeout 60 chromium "${flags[@]}" --dump-dom "$2" >"$TMPD/$1.html" \
	    2>/dev/null
	timeout 60 chromium "${flags[@]}" --screenshot="$shots/$1.png" "$2" \
	    >/dev/null 2>&1
}

browse overview "$HWD_URL/"
grep -q '<a href="/targets/api">api</a>' "$TMPD/overview.html" &&
    grep -q '<a href="/targets/worker">worker</a>' "$TMPD/overview.html" &&
    grep -q '<a href="/targets/dead">dead</a>' "$TMPD/overview.html"
ok $? "the overview lists every target"
grep -o '<tr class="[a-z]*"><td><a href="/targets/[a-z]*"' "$TMPD/overview.html" |
    head -1 | grep -q 'class="firing"><td><a href="/targets/api"'
ok $? "the firing alert comes first"
grep -q '1 firing' "$TMPD/overview.html"
ok $? "the summary counts the firing alert"
[ -s "$shots/overview.png" ]
ok $? "a screenshot of the overview"

browse target "$HWD_URL/targets/api"
grep -q '<svg id="history"' "$TMPD/target.html" &&
    grep -q '<polyline' "$TMPD/target.html"
ok $? "the target's page charts its history"
grep -q 'id="alert" class="firing"' "$TMPD/target.html"
ok $? "it shows the firing alert"
grep -q '<code>main.leakSteady</code> (growing)' "$TMPD/target.html" &&
    grep -q 'tests/fixture/main.go:[0-9]' "$TMPD/target.html"
ok $? "it names the leaking function and its line"
grep -q 'download="api-[0-9]*.pb.gz"' "$TMPD/target.html"
ok $? "it lists the snapshots with download links"

ids=$(curl -fs "$HWD_URL/api/v1/targets/api/snapshots" | jq -r '.[0].id, .[-1].id')
set -- $ids
browse diff "$HWD_URL/targets/api/diff?base=$1&current=$2"
grep -q '<svg id="icicle"' "$TMPD/diff.html" &&
    grep -q '<title>main.leakSteady: +' "$TMPD/diff.html"
ok $? "the diff's icicle graph shows main.leakSteady's growth"
grep -q '<td><code>main.leakSteady</code></td>' "$TMPD/diff.html"
ok $? "the diff's table lists it"

# A growth figure beside an inactive alert says why it is no leak: the
# churning worker's, once its window is judged.
explained() {
	curl -fs --max-time 5 "$HWD_URL/" >"$TMPD/rows.html" &&
	    grep -q '<tr class="inactive"><td><a href="/targets/worker">.*<td class="n">[^<]* <span class="why">(not [^<]*)</span></td><td>inactive</td>' "$TMPD/rows.html"
}
wait_for 30 explained
ok $? "an inactive target's growth figure says why it is no leak"
# The growth cell is a row's second numeric one.
awk -F '<td class="n">' '/<tr class="inactive">/ && $3 !~ /^-</ &&
    $3 !~ /class="why"/' "$TMPD/rows.html" | grep -c . >"$TMPD/unexplained"
[ "$(cat "$TMPD/unexplained")" = 0 ]
ok $? "... and no inactive row shows one without"

# Filters and pages are the server's.
curl -fs "$HWD_URL/?q=work" >"$TMPD/filtered.html"
grep -q '/targets/worker' "$TMPD/filtered.html" && ! grep -q '/targets/api"' "$TMPD/filtered.html"
ok $? "a filter keeps the matching targets"
curl -fs "$HWD_URL/?q=payments" | grep -q '/targets/api"'
ok $? "a filter matches label values"
code=$(curl -s -o /dev/null -w '%{http_code}' "$HWD_URL/targets/nope")
[ "$code" = 404 ]
ok $? "an unknown target's page is 404"
code=$(curl -s -o /dev/null -w '%{http_code}' "$HWD_URL/targets/api/diff?base=..&current=1")
[ "$code" = 400 ]
ok $? "a diff of a malformed snapshot id is 400"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
