#!/usr/bin/env bash
# The demo: heapwatchd watching a leaky Go service, on a default config.
#
#   ./demo.sh
#
# Installs what it needs (Debian packages), builds heapwatch, starts the
# bundled demo service (demo/leaky: a user API that leaks its sessions),
# a local webhook sink, and heapwatchd, which within a minute and a half
# or so logs a leak alert naming
# main.(*SessionStore).Register, shows it on its status page at
# http://127.0.0.1:9470/ and POSTs it to the sink. Ctrl-C stops it all. DEMO_SECONDS=N stops after N seconds; HEAPWATCH_BUILD=DIR uses a
# build already made there.
set -u
cd "$(dirname "$0")" || exit 1
top=$(pwd)
. tools/deps.sh

deps_install $DEPS_BUILD golang-go curl || {
	echo "demo: could not install the Debian packages needed" >&2
	exit 1
}
work=$top/_build/demo-run
build=${HEAPWATCH_BUILD:-$top/_build/demo}
mkdir -p "$work" "$build"
export GOPROXY=off GOFLAGS=-mod=mod GOCACHE="$work/.cache/go-build" \
    GOPATH="$work/.cache/go"

if [ -z "${HEAPWATCH_BUILD:-}" ]; then
	echo "demo: building heapwatch in $build"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || exit 1
	(cd "$build" && "$top/configure" -q >/dev/null && make -j2 -s \
	    heapwatchd heapwatch >/dev/null) || {
		echo "demo: the build failed" >&2
		exit 1
	}
fi
(cd demo/leaky && go build -o "$work/leaky" .) &&
    (cd tests/sink && go build -o "$work/sink" .) || exit 1

pids=()
stop() {
	kill "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# The service, and a sink that records the webhooks heapwatchd sends.
"$work/leaky" -listen 127.0.0.1:6060 >"$work/leaky.log" 2>&1 &
pids+=($!)
rm -f "$work/webhooks.json"
"$work/sink" -listen 127.0.0.1:9471 -out "$work/webhooks.json" \
    >"$work/sink.log" 2>&1 &
pids+=($!)

# A default config, with times short enough for a demo.
rm -rf "$work/store"
cat >"$work/heapwatchd.yaml" <<YAML
listen: 127.0.0.1:9470
storage:
  path: $work/store
defaults:
  interval: 2s
  timeout: 1s
  window: 30s
  for: 10s
  min_growth: 4MiB
targets:
  - name: leaky
    url: http://127.0.0.1:6060/debug/pprof/heap
    labels: {team: demo}
  - name: leaky-goroutines
    url: http://127.0.0.1:6060/debug/pprof/goroutine
    labels: {team: demo}
alerting:
  webhooks:
    - url: http://127.0.0.1:9471/hook
      repeat_interval: 1m
YAML
cat <<EOF2
demo: the leaky service listens on 127.0.0.1:6060;
demo: heapwatchd on http://127.0.0.1:9470/ (try /api/v1/alerts, /metrics);
demo: webhooks land in $work/webhooks.json.
demo: the leak alert fires within a minute or two. Ctrl-C stops.
EOF2
root=
[ "$(id -u)" -eq 0 ] && root=-R	# a demo, on a machine of its own
"$build/heapwatchd" $root -c "$work/heapwatchd.yaml" &
pids+=($!)

# Say when the webhook arrives.
(
	while [ ! -s "$work/webhooks.json" ]; do sleep 1; done
	echo "demo: webhook received: $(head -c 300 "$work/webhooks.json")..."
) &
pids+=($!)

if [ -n "${DEMO_SECONDS:-}" ]; then
	# In the background: bash runs a trap only once its foreground
	# command ends, and a kill should not wait out the sleep.
	sleep "$DEMO_SECONDS" &
	pids+=($!)
	wait $!
else
	wait "${pids[2]}"
fi
