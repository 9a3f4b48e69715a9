# The configuration the daemon benches run heapwatchd on: N targets of
# one profile server, each at its own path, retention keeping four
# snapshots so that it is at work once the warm-up is over.
bench_config() {	# bench_config PORT STORE URL N INTERVAL TIMEOUT
	local i
	cat <<YAML
listen: 127.0.0.1:$1
storage:
  path: $2
  retention: {snapshots: 4}
defaults: {interval: ${5}s, timeout: ${6}s, window: $(($5 * 3))s,
  for: $(($5 * 2))s}
targets:
YAML
	for i in $(seq 1 "$4"); do
		printf '  - name: svc-%05d\n' "$i"
		printf '    url: %s/t/%d/debug/pprof/heap\n' "$3" "$i"
		printf '    labels: {team: team-%d}\n' $((i % 17))
	done
}
