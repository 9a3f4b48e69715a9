#!/usr/bin/env bash
# A firing alert's repeats follow each webhook by its URL across reloads:
# a webhook added hears of the alert at once, one kept is not told again
# before its repeat_interval, whatever the order or number of the others.
. "$(dirname "$0")/lib.sh"

fixture_start leak || { ok 1 "the leaking fixture starts"; done_testing; exit; }
for s in a b c; do
	sink_start "$TMPD/$s.out" || { ok 1 "sink $s starts"; done_testing; exit; }
	eval "url_$s=\$SINK_URL/hook"
done
conf() {	# conf SINK...: the configuration with these webhooks, in order
	config_head 12s 4s
	printf '  - name: leak\n    url: %s/debug/pprof/heap\n' "$FIXTURE_URL"
	printf '    min_growth: 1MiB\nalerting:\n  webhooks:\n'
	for s in "$@"; do
		eval "printf '    - url: %s\n      repeat_interval: 1h\n' \"\$url_$s\""
	done
	if [ -n "${EXT:-}" ]; then
		printf 'web:\n  external_url: %s\n' "$EXT"
	fi
}
firings() {	# firings SINK: the firing notes it received
	jq -c 'select(.status == "firing")' "$TMPD/$1.out" 2>/dev/null |
	    wc -l
}
conf a >"$TMPD/hw.yaml"
daemon_start "$TMPD/hw.yaml" || { ok 1 "heapwatchd starts"; done_testing; exit; }
told() { [ "$(firings "$1")" -ge 1 ]; }
wait_for 90 told a
ok $? "the leak fires, and webhook a is told"

reload() {	# reload SINK...: reload with these webhooks, and let it scrape
	conf "$@" >"$TMPD/hw.yaml"
	kill -HUP "$HWD_PID"
	sleep 6		# some scrapes, each a check of the repeats
}
reload a b
[ "$(firings a)" = 1 ] && [ "$(firings b)" = 1 ]
ok $? "b added: b is told at once, a not again ($(firings a) and $(firings b))"
reload b a
[ "$(firings a)" = 1 ] && [ "$(firings b)" = 1 ]
ok $? "reordered: neither is told again ($(firings a) and $(firings b))"
# With web.external_url, as behind a proxy: the links start with it.
EXT=https://watch.example.com/heapwatch/
reload a c
[ "$(firings a)" = 1 ] && [ "$(firings c)" = 1 ]
ok $? "b replaced by c: c is told at once, a not again ($(firings a) and $(firings c))"
link=$(jq -r 'select(.status == "firing") | .current_snapshot' "$TMPD/c.out" |
    head -1)
case $link in
https://watch.example.com/heapwatch/api/v1/targets/leak/snapshots/[0-9]*)
	ok 0 "c's links start with web.external_url ($link)" ;;
*)	ok 1 "c's links start with web.external_url ($link)" ;;
esac
state=$(curl -fs --max-time 30 "$HWD_URL/api/v1/alerts" |
    jq -r '.[] | select(.target == "leak") | .state')
[ "$state" = firing ] && [ "$(jq -c 'select(.status == "resolved")' \
    "$TMPD"/[abc].out | wc -l)" = 0 ]
ok $? "the alert fired throughout ($state), none resolved"

done_testing
