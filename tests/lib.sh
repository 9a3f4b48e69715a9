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

# Go builds work offline, with caches inside the build tree.
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
export GOCACHE="${GOCACHE:-$top_builddir/.cache/go-build}"
export GOPATH="${GOPATH:-$top_builddir/.cache/go}"

# Build the fixture service once per build tree; prints its path.
fixture_bin() {
	local bin="$top_builddir/tests/fixture-svc"
	if [ ! -x "$bin" ] || [ -n "$(find "$top_srcdir/tests/fixture" \
	    -name '*.go' -newer "$bin")" ]; then
		(cd "$top_srcdir/tests/fixture" && go build -o "$bin" .) >&2 ||
		    return 1
	fi
	echo "$bin"
}

# Build the misbehaving target once per build tree; prints its path.
badtarget_bin() {
	local bin="$top_builddir/tests/badtarget-svc"
	if [ ! -x "$bin" ] ||
	    [ "$top_srcdir/tests/badtarget/main.go" -nt "$bin" ]; then
		(cd "$top_srcdir/tests/badtarget" && go build -o "$bin" .) >&2 ||
		    return 1
	fi
	echo "$bin"
}

# Start tests/badtarget on a free port of its own; sets STARTED_URL.
badtarget_start() {
	local bin
	bin=$(badtarget_bin) || return 1
	serve_start badtarget "$bin" -listen 127.0.0.1:0
}

# Build the history generator once per build tree; prints its path.
histgen_bin() {
	local bin="$top_builddir/tests/histgen-bin"
	if [ ! -x "$bin" ] ||
	    [ "$top_srcdir/tests/histgen/main.go" -nt "$bin" ]; then
		(cd "$top_srcdir/tests/histgen" && go build -o "$bin" .) >&2 ||
		    return 1
	fi
	echo "$bin"
}

# Run COMMAND in the background until it says "listening on ADDR"; sets
# STARTED_PID and STARTED_URL (http://ADDR). WHAT names it in an error.
serve_start() {	# serve_start WHAT COMMAND...
	local what=$1 out _
	shift
	out="$TMPD/serve.$RANDOM.out"
	"$@" >"$out" 2>&1 &
	STARTED_PID=$!
	cleanup_hooks+=("kill $STARTED_PID 2>/dev/null")
	for _ in $(seq 1 200); do
		STARTED_URL=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$out" \
		    2>/dev/null)
		[ -n "$STARTED_URL" ] && return 0
		kill -0 "$STARTED_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "$what did not start:" >&2
	cat "$out" >&2
	return 1
}

# Start the fixture in MODE; sets FIXTURE_PID and FIXTURE_URL.
fixture_start() {	# fixture_start MODE [FLAGS...]
	local bin
	bin=$(fixture_bin) || return 1
	serve_start "fixture $1" "$bin" -listen 127.0.0.1:0 -mode "$@" ||
	    return 1
	FIXTURE_PID=$STARTED_PID
	FIXTURE_URL=$STARTED_URL
}

fixture_stop() {
	kill "$FIXTURE_PID" 2>/dev/null
	wait "$FIXTURE_PID" 2>/dev/null
}

# Fetch a URL of the fixture into FILE, bounded in time.
fetch() {	# fetch URL FILE [curl options]
	local url=$1 file=$2
	shift 2
	curl -fsS --max-time 30 "$@" -o "$file" "$url"
}

HEAPWATCHD="$top_builddir/heapwatchd"

# Start heapwatchd on CONFIG (its listen address must be 127.0.0.1:$HWD_PORT)
# and wait until it is ready; sets HWD_PID and HWD_URL.
daemon_start() {	# daemon_start CONFIG [LOG]
	local log=${2:-$TMPD/heapwatchd.log} i seen
	seen=$(grep -c "listening on" "$log" 2>/dev/null)
	seen=${seen:-0}
	# The tests run as root on CI: -R says so knowingly.
	"$HEAPWATCHD" -R -v -c "$1" >>"$log" 2>&1 &
	HWD_PID=$!
	cleanup_hooks+=("kill -9 $HWD_PID 2>/dev/null")
	HWD_URL=http://127.0.0.1:$HWD_PORT
	# Ready once this daemon says it listens, not whichever answers
	# on the port: it logs that line before it serves.
	for i in $(seq 1 100); do
		if curl -fs --max-time 2 "$HWD_URL/-/ready" >/dev/null &&
		    [ "$(grep -c "listening on" "$log")" -gt "$seen" ]; then
			kill -0 "$HWD_PID" 2>/dev/null && return 0
		fi
		kill -0 "$HWD_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "heapwatchd did not start:" >&2
	tail -n 20 "$log" >&2
	return 1
}

# The head of a test configuration: the daemon's port, a store in the
# scratch folder, and a 1 s interval; targets follow.
config_head() {	# config_head WINDOW FOR
	cat <<YAML
listen: 127.0.0.1:$HWD_PORT
storage:
  path: $TMPD/store
  format: $STORAGE_FORMAT
defaults:
  interval: 1s
  timeout: 500ms
  window: ${1:-20s}
  for: ${2:-10s}
targets:
YAML
}

# The form of the daemon's store: pprof unless the environment sets
# HEAPWATCH_STORAGE_FORMAT, to run a test on the other.
STORAGE_FORMAT=${HEAPWATCH_STORAGE_FORMAT:-pprof}

# Ports for the daemon and its neighbours (Prometheus, Alertmanager, a
# second shard): eight in a row from HWD_PORT, below Linux's ephemeral
# ports (32768 and up), which the fixtures and clients take. Tests run
# side by side, so a block is claimed with an atomic mkdir, which names
# the claiming shell; a claim whose shell is gone is taken over, and a
# block in which anything listens is passed by.
claim_ports() {
	local dir=${TMPDIR:-/tmp}/heapwatch-test-ports base i pid
	mkdir -p "$dir"
	for i in $(seq 1 200); do
		base=$((20000 + 8 * (RANDOM % 1500)))
		if ! mkdir "$dir/$base" 2>/dev/null; then
			pid=$(cat "$dir/$base/pid" 2>/dev/null)
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && continue
			rm -rf "$dir/$base"
			mkdir "$dir/$base" 2>/dev/null || continue
		fi
		echo $$ >"$dir/$base/pid"
		if [ -n "$(ss -Htln "( sport >= :$base and sport <= :$((base + 7)) )" \
		    2>/dev/null)" ]; then
			rm -rf "$dir/$base"
			continue
		fi
		cleanup_hooks+=("rm -rf $dir/$base")
		HWD_PORT=$base
		return 0
	done
	HWD_PORT=$((20000 + RANDOM % 12000))
}
claim_ports

# Wait until COMMAND succeeds, up to SECONDS.
wait_for() {	# wait_for SECONDS COMMAND...
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# A target's field from /api/v1/targets.
target_field() {	# target_field NAME FIELD
	curl -fs --max-time 30 "$HWD_URL/api/v1/targets" |
	    jq -r --arg n "$1" ".[] | select(.name == \$n) | .$2"
}

# Build the sink once per build tree; prints its path.
sink_bin() {
	local bin="$top_builddir/tests/webhook-sink"
	if [ ! -x "$bin" ] || [ "$top_srcdir/tests/sink/main.go" -nt "$bin" ]; then
		(cd "$top_srcdir/tests/sink" && go build -o "$bin" .) >&2 ||
		    return 1
	fi
	echo "$bin"
}

# Build bench/profserve, which serves one file at every path; prints its
# path.
profserve_bin() {
	local bin="$top_builddir/tests/profserve"
	if [ ! -x "$bin" ] ||
	    [ "$top_srcdir/bench/profserve/main.go" -nt "$bin" ]; then
		(cd "$top_srcdir/bench/profserve" && go build -o "$bin" .) >&2 ||
		    return 1
	fi
	echo "$bin"
}

# Start a sink recording to FILE; sets SINK_URL.
sink_start() {	# sink_start FILE [FLAGS...]
	local bin
	bin=$(sink_bin) || return 1
	serve_start sink "$bin" -listen 127.0.0.1:0 -out "$@" || return 1
	SINK_URL=$STARTED_URL
}

# Start Debian's Prometheus on $TMPD/prometheus.yml, listening on
# 127.0.0.1:PROM_PORT; prom_query asks it.
prometheus_start() {
	prometheus --config.file="$TMPD/prometheus.yml" \
	    --storage.tsdb.path="$TMPD/tsdb" \
	    --web.listen-address="127.0.0.1:$PROM_PORT" \
	    >"$TMPD/prometheus.log" 2>&1 &
	PROM_PID=$!
	cleanup_hooks+=("kill $PROM_PID 2>/dev/null")
}

# Prometheus, as prometheus_start(), scraping heapwatchd at each ADDR (the
# job "heapwatch") and evaluating the rules of RULES when given, all every
# second.
prometheus_scraping() {	# prometheus_scraping "ADDR..." [RULES]
	local a targets=
	for a in $1; do
		targets+="${targets:+, }'$a'"
	done
	{
		cat <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: heapwatch
    static_configs:
      - targets: [$targets]
YAML
		[ -z "${2:-}" ] || echo "rule_files: [$2]"
	} >"$TMPD/prometheus.yml"
	prometheus_start
}

prom_query() {	# prom_query PROMQL: the JSON result
	curl -fs --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	    --data-urlencode "query=$1"
}

# Start Debian's Alertmanager on loopback, without clustering, its alerts
# routed nowhere; sets AM (its URL) and AM_PORT.
alertmanager_start() {
	AM_PORT=$((HWD_PORT + 2))
	AM=http://127.0.0.1:$AM_PORT
	cat >"$TMPD/alertmanager.yml" <<YAML
route:
  receiver: blackhole
receivers:
  - name: blackhole
YAML
	prometheus-alertmanager --config.file="$TMPD/alertmanager.yml" \
	    --storage.path="$TMPD/alertmanager" \
	    --web.listen-address="127.0.0.1:$AM_PORT" \
	    --cluster.listen-address= >"$TMPD/alertmanager.log" 2>&1 &
	AM_PID=$!
	cleanup_hooks+=("kill $AM_PID 2>/dev/null")
	wait_for 20 curl -fs --max-time 2 -o /dev/null "$AM/-/ready"
}

# pprof_top ARGS...: go tool pprof -top of every node, from its header on.
pprof_top() {
	go tool pprof -top -nodecount=1000000 -nodefraction=0 \
	    -edgefraction=0 -unit=B "$@" 2>/dev/null | sed -n '/flat%/,$p'
}

# pprof_same NAME IN OUT COUNT: IN/1.pb.gz .. IN/COUNT.pb.gz and the same
# names in OUT show go tool pprof the same -top for every sample type, and
# the same -base for every consecutive pair; two checks.
pprof_same() {
	local name=$1 in=$2 out=$3 count=$4 i t types same=0 pairs=0

	types=$(go tool pprof -raw "$in/1.pb.gz" 2>/dev/null |
	    sed -n 's/^Samples:$//; /^ *[a-z_]*\/[a-z]*/p' | head -1)
	for i in $(seq 1 "$count"); do
		for t in $types; do
			t=${t%%/*}
			if cmp -s <(pprof_top -sample_index="$t" "$in/$i.pb.gz") \
			    <(pprof_top -sample_index="$t" "$out/$i.pb.gz"); then
				same=$((same + 1))
			else
				diag "$name: snapshot $i, $t differs"
			fi
			pairs=$((pairs + 1))
		done
	done
	[ "$same" -eq "$pairs" ] && [ "$pairs" -gt 0 ]
	ok $? "$name: go tool pprof -top equal for all $pairs snapshots and types"
	same=0
	pairs=0
	for i in $(seq 2 "$count"); do
		if cmp -s <(pprof_top -base "$in/$((i - 1)).pb.gz" "$in/$i.pb.gz") \
		    <(pprof_top -base "$out/$((i - 1)).pb.gz" "$out/$i.pb.gz"); then
			same=$((same + 1))
		else
			diag "$name: -base $((i - 1)) $i differs"
		fi
		pairs=$((pairs + 1))
	done
	[ "$same" -eq "$pairs" ]
	ok $? "$name: go tool pprof -base equal for all $pairs pairs"
}
