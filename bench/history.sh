#!/usr/bin/env bash
# The verdict benchmark (not a test: it prints figures).
#
#   bench/history.sh [BUILD-DIR]
#
# For every scenario of tests/histgen (days of 1-minute snapshots of a
# modelled Go service), it prints heapwatch judge's verdict with default
# settings beside two alerting rules a Prometheus user would write on the
# same service's own scraped series (go_memstats_heap_inuse_bytes, or
# go_goroutines), evaluated every minute:
#   deriv:   deriv(heap_inuse[30m]) * 1800 > 16MiB for 15m
#            (for goroutines, > 100, heapwatch's goroutine default)
#   predict: predict_linear(heap_inuse[1h], 4h) > limit for 15m
# Both use least squares over the range as Prometheus does, predict_linear
# from the evaluation time. Then a table: recall (leaks caught after they
# start), false alarms (a quiet scenario that fires, or a leak scenario
# that fires before its leak starts) and the median delay of the leaks
# caught.
#
#   SEEDS=40 bench/history.sh     (each scenario with seeds 1 to 40: its
#                                  sampling noise, GC timing and restarts
#                                  drawn anew; rows named SCENARIO/SEED)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/_build/plain}
work=$top/_build/bench-history
mkdir -p "$work"
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    GOCACHE="$work/.cache/go-build" GOPATH="$work/.cache/go"

[ -x "$build/heapwatch" ] || {
	echo "bench: no $build/heapwatch: build first" >&2
	exit 1
}
hw=$build/heapwatch
(cd "$top/tests/histgen" && go build -o "$work/histgen" .)

# rules THRESHOLD LIMIT < SERIES: every evaluation ("unix-ms") at which
# each rule is firing, on a line "deriv ..." and a line "predict ...".
rules() {
	awk -v thr="$1" -v limit="$2" '
	function fit(range,   i, n, st, sv, stt, stv, t, m) {
		n = st = sv = stt = stv = 0
		for (i = k; i >= 1 && T[k] - T[i] <= range; i--) {
			t = (T[i] - T[k]) / 1000
			n++; st += t; sv += V[i]; stt += t * t; stv += t * V[i]
		}
		if (n < 2 || n * stt == st * st)
			return 0
		slope = (n * stv - st * sv) / (n * stt - st * st)
		icept = (sv - slope * st) / n
		return 1
	}
	{
		k++; T[k] = $1; V[k] = $2
		d = fit(1800000) && slope * 1800 > thr
		p = fit(3600000) && icept + slope * 14400 > limit
		# "for 15m": true at every evaluation of the last 15 minutes.
		dsince = d ? (dsince ? dsince : T[k]) : 0
		psince = p ? (psince ? psince : T[k]) : 0
		if (dsince && T[k] - dsince >= 900000)
			D[++nd] = T[k]
		if (psince && T[k] - psince >= 900000)
			P[++np] = T[k]
	}
	END {
		# Every time each rule was firing, for the caller to split
		# before and after the leak.
		printf "%s", "deriv"
		for (i = 1; i <= nd; i++) printf " %s", D[i]
		printf "\npredict"
		for (i = 1; i <= np; i++) printf " %s", P[i]
		printf "\n"
	}'
}

# first_after T TIMES...: the first time at or after T, "-" for none;
# any_before T TIMES...: 1 when any is before T.
first_after() {
	local t=$1 x
	shift
	for x; do [ "$x" -ge "$t" ] && { echo "$x"; return; }; done
	echo -
}
any_before() {
	local t=$1 x
	shift
	for x; do [ "$x" -lt "$t" ] && { echo 1; return; }; done
	echo 0
}

declare -A recall false delays
leaks=0 quiet=0
printf '%-18s %-6s | %-22s | %-12s | %-12s\n' scenario truth \
    "heapwatch (delay)" "deriv" "predict"
# "fast" is two minutes scraped every second, for a 10 s window: not for
# the default settings.
seeds=${SEEDS:-1}
for s in $("$work/histgen" -list | grep -vx fast); do
for seed in $(seq 1 "$seeds"); do
	rm -rf "${work:?}/$s"
	read -r _ state kind fn start limit <<<"$("$work/histgen" \
	    -seed "$seed" -series "$work/$s.series" "$s" "$work/$s")"
	thr=16777216
	[ "$kind" = goroutine ] && thr=100
	"$hw" judge --json "$work/$s" >"$work/$s.json"
	hwfire=$(jq -r '[.changes[] | select(.state == "firing") |
	    .snapshot | tonumber] | join(" ")' "$work/$s.json")
	hwtop=$(jq -r '.top[0].function // "-"' "$work/$s.json")
	rules "$thr" "$limit" <"$work/$s.series" >"$work/$s.rules"
	dfire=$(sed -n 's/^deriv//p' "$work/$s.rules")
	pfire=$(sed -n 's/^predict//p' "$work/$s.rules")
	[ "$state" = leak ] && leaks=$((leaks + 1)) || quiet=$((quiet + 1))
	cells=()
	for r in heapwatch deriv predict; do
		case $r in
		heapwatch) times=$hwfire ;;
		deriv) times=$dfire ;;
		predict) times=$pfire ;;
		esac
		# shellcheck disable=SC2086
		if [ "$state" = leak ]; then
			f=$(first_after "$start" $times)
			fa=$(any_before "$start" $times)
		else
			f=-
			fa=$( [ -n "${times// /}" ] && echo 1 || echo 0)
		fi
		false[$r]=$(( ${false[$r]:-0} + fa ))
		cell=
		if [ "$f" != - ]; then
			recall[$r]=$(( ${recall[$r]:-0} + 1 ))
			d=$(( (f - start) / 60000 ))
			delays[$r]="${delays[$r]:-} $d"
			cell="fired ${d}m"
		elif [ "$state" = leak ]; then
			cell="missed"
		else
			cell="quiet"
		fi
		[ "$fa" = 1 ] && cell="$cell, FALSE"
		[ "$r" = heapwatch ] && [ "$state" = leak ] && [ "$f" != - ] &&
		    [ "$hwtop" != "$fn" ] && cell="$cell, names $hwtop"
		cells+=("$cell")
	done
	printf '%-18s %-6s | %-22s | %-12s | %-12s\n' \
	    "$s$([ "$seeds" = 1 ] || echo "/$seed")" "$state" \
	    "${cells[0]}" "${cells[1]}" "${cells[2]}"
done
done
echo
printf '%-10s %-8s %-13s %s\n' rule recall "false alarms" "median delay"
for r in heapwatch deriv predict; do
	med=$(tr ' ' '\n' <<<"${delays[$r]:-}" | sed '/^$/d' | sort -n |
	    awk '{ a[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		print m "m" }')
	printf '%-10s %-8s %-13s %s\n' "$r" "${recall[$r]:-0}/$leaks" \
	    "${false[$r]:-0}/$((leaks + quiet))" "$med"
done
