#!/usr/bin/env bash
# What the status page costs with 1,000 targets (a figure, not a test):
# heapwatchd watching one Go service as 1,000 targets, each scraped
# SCRAPES times (3 by default), so that every row of the overview draws
# a sparkline; then the median and worst of 50 requests of the overview,
# one of its later pages, a filtered one, a target's page, /metrics (as
# text and gzipped, as Prometheus asks) and /api/v1/targets, as curl times
# them on loopback.
#
#   [TARGETS=N] [SCRAPES=N] bench/status.sh [BUILD-DIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
work=$top/_build/bench-status
n=${TARGETS:-1000}
scrapes=${SCRAPES:-3}
rm -rf "$work"
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"
(cd "$top/tests/fixture" && go build -o "$work/fixture" .)
"$work/fixture" -listen 127.0.0.1:0 -mode shapes >"$work/fixture.out" &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
sleep 1
url=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$work/fixture.out")
port=$((20000 + RANDOM % 20000))
{
	cat <<YAML
listen: 127.0.0.1:$port
storage: {path: $work/store}
defaults: {interval: 20s, timeout: 10s, window: 2m, for: 1m}
targets:
YAML
	for i in $(seq 1 "$n"); do
		printf '  - name: svc-%04d\n    url: %s/debug/pprof/heap\n' \
		    "$i" "$url"
		echo "    labels: {team: team-$((i % 17))}"
	done
} >"$work/hw.yaml"
"$build/heapwatchd" -R -c "$work/hw.yaml" >"$work/heapwatchd.log" 2>&1 &
pids+=($!)
# The first scrapes are spread over the first interval.
echo "waiting $((20 * scrapes + 5)) s for $n targets to be scraped $scrapes times"
sleep $((20 * scrapes + 5))
scraped=$(curl -fs "http://127.0.0.1:$port/api/v1/targets" |
    jq --argjson k "$scrapes" '[.[] | select(.snapshots >= $k)] | length')
echo "$scraped of $n targets scraped $scrapes times"
curl -fs "http://127.0.0.1:$port/" | grep -c '<svg class="spark"' |
    sed 's/^/sparklines on the first page of the overview: /'

measure() {	# measure NAME PATH [CURL-ARG...]
	local t name=$1 path=$2
	shift 2
	for _ in $(seq 1 50); do
		curl -fs -o /dev/null -w '%{time_total}\n' "$@" \
		    "http://127.0.0.1:$port$path"
	done | sort -n >"$work/times"
	t=$(sed -n '25p' "$work/times")
	printf '%-28s median %6.1f ms  worst %6.1f ms  %7d bytes\n' "$name" \
	    "$(echo "$t * 1000" | bc -l)" \
	    "$(echo "$(tail -n 1 "$work/times") * 1000" | bc -l)" \
	    "$(curl -fs "$@" "http://127.0.0.1:$port$path" | wc -c)"
}
measure "overview, page 1" "/"
measure "overview, page 7" "/?page=7"
measure "overview, filtered" "/?q=team-3"
measure "overview, by growth" "/?sort=growth"
measure "a target's page" "/targets/svc-$(printf %04d $(((n + 1) / 2)))"
measure "/metrics" "/metrics"
measure "/metrics, gzip" "/metrics" -H "Accept-Encoding: gzip"
measure "/api/v1/targets" "/api/v1/targets"
ps -o rss= -p "${pids[1]}" | awk '{ printf "heapwatchd RSS: %.1f MiB\n", $1 / 1024 }'
