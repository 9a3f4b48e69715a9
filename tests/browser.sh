#!/usr/bin/env bash
# The pages as people see them, in a real browser: headless Chromium loads
# the overview, a leaking target's page and a diff, and the rendered DOM
# must show the targets, the chart, the firing alert and the leaking
# function, and the diff graph's script must zoom and search. Screenshots
# and the DOMs are kept in tests/screenshots of the build tree:
#   overview.png          every target with its window's sparkline
#   target.png            the history with the pending and firing marks,
#                         the window's total beside the alert's functions
#   diff.png              the diff graph, coloured by growth
#   zoom.png, unzoom.png  zoomed into main.leakSteady, and back out
#   search.png            the frames matching a search highlighted
#   diff_zoom_search.png  both at once
#   lines.png             main.leakSteady's line view, with its source
. "$(dirname "$0")/lib.sh"

if ! command -v chromium >/dev/null; then
	ok 1 "chromium is installed (Debian's package)"
	done_testing
	exit
fi
shots="$top_builddir/tests/screenshots"
mkdir -p "$shots"
# The DOMs as Chromium left them are kept beside the screenshots.
cleanup_hooks+=('cp "$TMPD"/*.html "$shots"/ 2>/dev/null')

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
    source_path: $top_srcdir/tests/fixture
  - name: worker
    url: $churn/debug/pprof/heap
    min_growth: 1MiB
  - name: dead
    url: http://127.0.0.1:1/debug/pprof/heap
  - name: nosrc
    url: $leak/debug/pprof/heap
    min_growth: 1GiB
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
# The leak's sparkline rises: its last point is above (a smaller y) its
# first. The dead target, never scraped, has none.
grep -o '<a href="/targets/api">api</a>.*' "$TMPD/overview.html" | head -1 |
    grep -o '<svg class="spark"[^>]*>.*</svg>' | grep -o 'points="[^"]*"' |
    tr -d '"' | sed 's/points=//' | tr ' ' '\n' | grep . >"$TMPD/spark"
[ "$(wc -l <"$TMPD/spark")" -ge 3 ] &&
    awk -F, 'NR == 1 { y0 = $2 } { y = $2 } END { exit !(y < y0) }' "$TMPD/spark"
ok $? "the leaking target's sparkline rises over its window"
grep -o '<a href="/targets/dead">dead</a>.*' "$TMPD/overview.html" | head -1 |
    grep -qv 'class="spark"'
ok $? "... and a target never scraped has none"

# An alert holds through a window that does not show the growth (on a
# busy machine a GC or a scrape comes late), and the page then says so:
# it is looked at again, six times at most, until a window shows it.
for try in 1 2 3 4 5 6; do
	browse target "$HWD_URL/targets/api"
	grep -q '<code>main.leakSteady</code></a> (growing)' \
	    "$TMPD/target.html" && break
	grep -o '<p id="alert".*</p>' "$TMPD/target.html" | sed 's/^/# /'
	sleep 3
done
grep -q '<svg id="history"' "$TMPD/target.html" &&
    grep -q '<polyline' "$TMPD/target.html"
ok $? "the target's page charts its history"
grep -q 'id="alert" class="firing"' "$TMPD/target.html"
ok $? "it shows the firing alert"
grep -o '<svg id="history".*</svg>' "$TMPD/target.html" | head -1 >"$TMPD/history"
grep -q '<g class="mark pending"><title>pending since 20' "$TMPD/history" &&
    grep -q '<g class="mark firing"><title>firing since 20' "$TMPD/history"
ok $? "its chart marks when the alert went pending and firing"
grep -q '<svg id="window-chart"' "$TMPD/target.html" &&
    grep -o '<svg id="functions-chart".*</svg>' "$TMPD/target.html" |
    grep -q '<polyline class="series" data-name="main.leakSteady"'
ok $? "it charts the named functions' own values beside the total"
grep -q '<code>main.leakSteady</code></a> (growing)' "$TMPD/target.html" &&
    grep -q 'tests/fixture/main.go:[0-9]' "$TMPD/target.html"
ok $? "it names the leaking function and its line"
grep -q 'download="api-[0-9]*.pb.gz"' "$TMPD/target.html"
ok $? "it lists the snapshots with download links"
grep -Eq '<p class="muted" id="store">[1-9][0-9]* in the store, [0-9.]+ (B|KiB|MiB) on disk\.</p>' \
    "$TMPD/target.html"
ok $? "and what they take on disk: $(grep -o '<p class="muted" id="store">[^<]*' "$TMPD/target.html")"

# The alert's functions link to their line view: the lines' growth across
# the window, with the text from the target's source_path.
grep -q '<a class="lines" href="/targets/api/list?fn=main.leakSteady"><code>main.leakSteady</code></a> (growing)' \
    "$TMPD/target.html"
ok $? "the alert's function links to its line view"
browse lines "$HWD_URL/targets/api/list?fn=main.leakSteady"
line=$(grep -n 'steady = append(steady, make(\[\]byte, leakChunk))' \
    "$top_srcdir/tests/fixture/main.go" | cut -d: -f1)
grep -q "<tr class=\"hot\" style=\"background:hsl(2,80%,[0-9]*%)\"><td class=\"n\">$line</td><td class=\"n\">+[0-9.]* [KM]iB</td><td class=\"n\">+[0-9.]* [KM]iB</td><td><pre>		steady = append(steady, make(\[\]byte, leakChunk))</pre>" \
    "$TMPD/lines.html"
ok $? "the line view shows line $line's growth, in red, beside its text"
grep -c '<tr class="hot"' "$TMPD/lines.html" >"$TMPD/hot"
[ "$(cat "$TMPD/hot")" = 1 ]
ok $? "... and no other line grew ($(cat "$TMPD/hot") hot)"
curl -fs "$HWD_URL/targets/nosrc/list?fn=main.leakSteady" >"$TMPD/nosrc.html"
grep -q 'no source_path is set for the target' "$TMPD/nosrc.html" &&
    grep -q "<tr class=\"hot\" [^>]*><td class=\"n\">$line</td>" "$TMPD/nosrc.html" &&
    ! grep -q '<pre>[^<]' "$TMPD/nosrc.html"
ok $? "without source_path, the line view has the numbers and no text"
code=$(curl -s -o /dev/null -w '%{http_code}' "$HWD_URL/targets/api/list?fn=no.such.func")
[ "$code" = 400 ]
ok $? "the line view of a function not in the profiles is 400"

ids=$(curl -fs "$HWD_URL/api/v1/targets/api/snapshots" | jq -r '.[0].id, .[-1].id')
set -- $ids
diffurl="$HWD_URL/targets/api/diff?base=$1&current=$2"
# Without script: every frame placed by the server, its numbers in a title.
curl -fs "$diffurl" >"$TMPD/diff_raw.html"
grep -q '<svg id="icicle"' "$TMPD/diff_raw.html" &&
    grep -q '<title>main.leakSteady: +[^<]* cum ([0-9.]*% of the change), +[^<]* flat' "$TMPD/diff_raw.html"
ok $? "the diff's icicle graph shows main.leakSteady's growth without script"
grep -q '<title>main.leakSteady: +[^<]* at [^<]*tests/fixture/main.go:[0-9]' "$TMPD/diff_raw.html"
ok $? "... with its file and line"
grep -o '<g class="f"[^>]*data-n="main.leakSteady"><title>[^<]*</title><rect[^>]*fill="[^"]*"' \
    "$TMPD/diff_raw.html" | head -1 | grep -q 'fill="hsl(2,80%,[0-9]*%)"'
ok $? "... coloured red, as what grew"
browse diff "$diffurl"
grep -q '<td><code>main.leakSteady</code> <a class="lines" href="/targets/api/list?base=[0-9]*&amp;current=[0-9]*&amp;sample_index=inuse_space&amp;fn=main.leakSteady">lines</a></td>' "$TMPD/diff.html"
ok $? "the diff's table lists it, with a link to its line view"
grep -q '<input id="search"' "$TMPD/diff.html" &&
    grep -q 'data-t="main.leakSteady: +' "$TMPD/diff.html"
ok $? "the script adds the search box and keeps each frame's numbers for its tooltip"

# The script's state is the address's fragment, so the DOM it leaves shows
# what a click on a frame (zoom) and a search do.
frames() {	# frames FILE: one line per frame, "name display x width class"
	grep -o '<g class="f[^"]*"[^>]*>' "$1" | while read -r g; do
		n=$(sed -n 's/.*data-n="\([^"]*\)".*/\1/p' <<<"$g")
		c=$(sed -n 's/<g class="\([^"]*\)".*/\1/p' <<<"$g")
		case $g in *display:\ none*) d=hidden ;; *) d=shown ;; esac
		echo "$n $d $c"
	done
}
# Zoom in the diff of allocated bytes: every scrape allocates in the
# profile handler's functions, so that diff always has frames outside
# main.leakSteady, where the in-use one may have none but its callers.
allocurl="$diffurl&sample_index=alloc_space"
browse diffalloc "$allocurl"
browse zoom "$allocurl#zoom=main.leakSteady"
grep -o '<svg id="icicle"[^>]*>' "$TMPD/zoom.html" | grep -q 'data-zoom="main.leakSteady"'
ok $? "zooming into main.leakSteady marks the graph zoomed"
grep -o '<g class="f zoomed"[^>]*data-n="main.leakSteady"[^>]*>.\{0,400\}<rect[^>]*>' "$TMPD/zoom.html" |
    grep -q 'x="0.0"[^>]*width="1160.0"'
ok $? "... and draws it full width"
frames "$TMPD/diffalloc.html" | grep -c ' shown' >"$TMPD/shown_all"
frames "$TMPD/zoom.html" | grep -c ' shown' >"$TMPD/shown_zoom"
[ "$(cat "$TMPD/shown_zoom")" -lt "$(cat "$TMPD/shown_all")" ] &&
    frames "$TMPD/zoom.html" | grep -v '^main.leakSteady ' | grep -q ' hidden'
ok $? "... and hides the frames outside it ($(cat "$TMPD/shown_zoom") of $(cat "$TMPD/shown_all") shown)"
browse unzoom "$allocurl#zoom="
! grep -q 'display: none' "$TMPD/unzoom.html" &&
    grep -o '<button id="unzoom"[^>]*>' "$TMPD/unzoom.html" | grep -q disabled
ok $? "zooming back out shows every frame again"
browse search "$diffurl#search=leakSt.ady"
frames "$TMPD/search.html" | grep ' f match' | cut -d' ' -f1 | sort -u >"$TMPD/matched"
[ "$(cat "$TMPD/matched")" = main.leakSteady ] &&
    grep -q '<span id="found">[1-9][0-9]* frames\{0,1\} match</span>' "$TMPD/search.html"
ok $? "a search (a regexp) highlights exactly the matching frames"
timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$(mktemp -d "$TMPD/chromium.XXXXXX")" \
    --window-size=1280,1000 --screenshot="$shots/diff_zoom_search.png" \
    "$diffurl#zoom=main.leakSteady&search=leak" >/dev/null 2>&1
[ -s "$shots/diff_zoom_search.png" ]
ok $? "a screenshot of a zoomed and searched diff"

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
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' "$HWD_URL/targets/api/diff?base=..&current=1")
[ "$code" = 400 ] && grep -q '^base: malformed snapshot id "\.\."' "$TMPD/body"
ok $? "a diff of a malformed snapshot id is 400, naming it: $(cat "$TMPD/body")"

# A diff that names one snapshot or none: current the newest, base the
# one before current, in the API and on the page alike.
all=$(curl -fs "$HWD_URL/api/v1/targets/api/snapshots" | jq -r '.[].id')
mapfile -t snap <<<"$all"
d=$(curl -fs "$HWD_URL/api/v1/targets/api/diff?current=${snap[1]}" |
    jq -r '"\(.base) \(.current)"')
[ "$d" = "${snap[0]} ${snap[1]}" ]
ok $? "the API's diff of current alone is from the snapshot before it ($d)"
# Scrapes go on meanwhile: the pair must be two in a row of a listing
# taken after, its second among the newest few.
newest_pair() {	# newest_pair BASE CURRENT
	curl -fs "$HWD_URL/api/v1/targets/api/snapshots" | jq -e \
	    --arg b "$1" --arg c "$2" '[.[].id] | (index($c)) as $i |
	    $i != null and $i >= 1 and .[$i - 1] == $b and $i >= length - 10' \
	    >/dev/null
}
d=$(curl -fs "$HWD_URL/api/v1/targets/api/diff" | jq -r '"\(.base) \(.current)"')
# shellcheck disable=SC2086
newest_pair $d
ok $? "and of none, the two newest ($d)"
curl -fs "$HWD_URL/targets/api/diff" >"$TMPD/d0.html"
d=$(sed -n 's|.*<h1>api: \([0-9]*\) &rarr; \([0-9]*\)</h1>.*|\1 \2|p' \
    "$TMPD/d0.html")
# shellcheck disable=SC2086
[ -n "$d" ] && newest_pair $d
ok $? "the diff page of none is of the two newest too ($d)"
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' \
    "$HWD_URL/api/v1/targets/api/diff?current=${snap[0]}")
[ "$code" = 404 ] && grep -q "no snapshot before ${snap[0]}" "$TMPD/body"
ok $? "the oldest alone has none before it: $code $(cat "$TMPD/body")"
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' \
    "$HWD_URL/api/v1/targets/api/diff?current=1000")
[ "$code" = 404 ] && grep -q "current: no such snapshot 1000" "$TMPD/body"
ok $? "a current not stored is named: $code $(cat "$TMPD/body")"

kill -TERM "$HWD_PID"
wait "$HWD_PID"
done_testing
