#!/usr/bin/env bash
# heapwatchd's endpoint under load, with 1,000 targets: wrk against
# /metrics and /api/v1/targets for 30 s each, then /metrics with basic
# auth on for 10 s. Every response must be a 2xx with no socket error;
# the p99 latency and the rate are printed as diagnostics. About 1.5 min.
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null && command -v perl >/dev/null || {
	echo "Bail out! wrk and perl are needed"
	exit 1
}

N=1000		# targets
WITH=300	# of which these point at the fixture and have snapshots

# Run wrk; its report in $TMPD/wrk.NAME, and RATE, P99 set from it.
load() {	# load NAME SECONDS PATH [wrk options]
	local name=$1 secs=$2 path=$3 out=$TMPD/wrk.$1
	shift 3
	# wrk's own timeout is 2 s: a reply held up that long by a busy
	# machine (or the loop's one bcrypt for the credentials, half a
	# second idle) would count as a socket error, which means none came.
	wrk -t2 -c16 -d"${secs}s" --timeout 10s --latency "$@" \
	    "$HWD_URL$path" >"$out" 2>&1
	ok $? "wrk on $path ($name) runs ${secs} s"
	diag <"$out"
	! grep -q '^ *Socket errors' "$out"
	ok $? "... without a socket error"
	! grep -q '^ *Non-2xx or 3xx responses' "$out"
	ok $? "... and every response a 2xx"
	REQS=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$out")
	[ "${REQS:-0}" -ge 100 ]
	ok $? "... and at least 100 of them ($REQS)"
	RATE=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
	P99=$(sed -n 's/^ *99% *\([0-9.]*[a-z]*\).*/\1/p' "$out")
	echo "# $path ($name): p99 $P99, $RATE requests/s," \
	    "wrk -t2 -c16 -d${secs}s --timeout 10s --latency"
}

# 1. The targets: the first WITH at the fixture, each with two snapshots
# already in the store (so that /metrics has their heap series from the
# start), the rest at a closed port. A long interval keeps scrapes rare.
fixture_start shapes || exit 1
fetch "$FIXTURE_URL/debug/pprof/heap" "$TMPD/heap.pb.gz" || exit 1
now=$(($(date +%s) * 1000))
conf=$TMPD/heapwatchd.yaml
{
	cat <<YAML
listen: 127.0.0.1:$HWD_PORT
storage:
  path: $TMPD/store
defaults: {interval: 1h, timeout: 10s, window: 2h, for: 1h}
targets:
YAML
	for i in $(seq 1 $N); do
		name=$(printf 'svc-%04d' "$i")
		if [ "$i" -le $WITH ]; then
			url=$FIXTURE_URL/debug/pprof/heap
			mkdir -p "$TMPD/store/$name"
			ln "$TMPD/heap.pb.gz" "$TMPD/store/$name/$((now - 20000)).pb.gz"
			ln "$TMPD/heap.pb.gz" "$TMPD/store/$name/$((now - 10000)).pb.gz"
		else
			url=http://127.0.0.1:1/debug/pprof/heap
		fi
		printf '  - name: %s\n    url: %s\n' "$name" "$url"
		echo "    labels: {team: team-$((i % 17)), env: prod}"
	done
} >"$conf"
"$HEAPWATCHD" -R -c "$conf" >>"$TMPD/heapwatchd.log" 2>&1 &
HWD_PID=$!
cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
HWD_URL=http://127.0.0.1:$HWD_PORT
wait_for 60 curl -fs --max-time 5 -o /dev/null "$HWD_URL/-/ready"
ok $? "heapwatchd starts with $N targets"

curl -fs "$HWD_URL/api/v1/targets" >"$TMPD/targets.json"
[ "$(jq length "$TMPD/targets.json")" -eq $N ]
ok $? "/api/v1/targets lists $N targets"
n=$(jq '[.[] | select(.snapshots >= 2)] | length' "$TMPD/targets.json")
[ "$n" -ge $WITH ]
ok $? "$n of them have snapshots"
curl -fs "$HWD_URL/metrics" >"$TMPD/metrics"
[ "$(grep -c '^heapwatch_target_up{' "$TMPD/metrics")" -eq $N ]
ok $? "/metrics has heapwatch_target_up for each of the $N"
n=$(grep -c '^heapwatch_heap_inuse_bytes{' "$TMPD/metrics")
[ "$n" -ge $WITH ]
ok $? "... and heapwatch_heap_inuse_bytes for $n ($(wc -c <"$TMPD/metrics") bytes)"

# Two slow clients, checked once the load is over: one that never sends a
# byte, one that stops inside its headers. Both must be closed after the
# 30 s timeout; "cat" then sees the end of the stream.
exec {idle}<>"/dev/tcp/127.0.0.1/$HWD_PORT"
exec {slow}<>"/dev/tcp/127.0.0.1/$HWD_PORT"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&"$slow"
slow_start=$(date +%s)

# 2. Open, as most run it.
load open 30 /metrics
open_rate=$RATE
load open 30 /api/v1/targets

# 3. Basic auth, on by a reload, with a costly hash: a cost-12 bcrypt
# takes a few hundred ms, which remembered credentials must not pay on
# every request. The cost is measured here, with the same libcrypt.
hash=$(perl -e 'print crypt($ARGV[0], q($2y$12$) . $ARGV[1])' 'scrape me' \
    "$(openssl rand -hex 16 | tr 0-9a-f A-P | cut -c1-21)u")
{
	printf "web:\n  basic_auth_users:\n    prometheus: '%s'\n" "$hash"
	cat "$conf"
} >"$conf.new"
mv "$conf.new" "$conf"
refused() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$HWD_URL/metrics")" = 401 ]
}
kill -HUP "$HWD_PID"
wait_for 20 refused
ok $? "a reload turns basic auth on"
start=$(date +%s%N)
perl -e 'crypt($ARGV[0], $ARGV[1])' 'scrape me' "$hash"
bcrypt_ms=$((($(date +%s%N) - start) / 1000000))
# heapwatchd answers on one thread: doing nothing but a bcrypt per
# request, it could not answer more than this.
ceiling=$(awk -v t="$bcrypt_ms" 'BEGIN { printf "%.1f", 1000 / (t > 0 ? t : 1) }')
cred=$(printf 'prometheus:scrape me' | base64)
load auth 10 /metrics -H "Authorization: Basic $cred"
echo "# one bcrypt of cost 12: $bcrypt_ms ms; without remembering," \
    "at most $ceiling requests/s"
awk -v r="$RATE" -v c="$ceiling" 'BEGIN { exit !(r > 3 * c) }'
ok $? "with auth, $RATE requests/s: over 3 times what bcrypt on each would allow"
c=$(curl -s -o /dev/null -w '%{http_code}' -u 'prometheus:wrong' "$HWD_URL/metrics")
[ "$c" = 401 ]
ok $? "a wrong password is still refused after the load: $c"
echo "# /metrics: $open_rate requests/s open, $RATE with basic auth"


# The slow clients of the start, long past the timeout.
[ $(($(date +%s) - slow_start)) -ge 35 ] && timeout 5 cat <&"$idle" >/dev/null
ok $? "an idle connection is closed after the timeout"
timeout 5 cat <&"$slow" >"$TMPD/slow.out"
ok $? "a connection that stopped inside its headers is closed too"
exec {idle}>&- {slow}>&-

kill "$HWD_PID"
wait "$HWD_PID"
ok $? "heapwatchd stops cleanly"
done_testing
