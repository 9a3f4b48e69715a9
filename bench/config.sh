# The configuration the daemon benches run heapwatchd on: N targets of
# one profile server, each at its own path, retention keeping four
# snapshots so that it is at work once the warm-up is over. FORMAT (pprof,
# the default, or pack) is the store's form: FORMAT=pack bench/scale.sh
# measures the daemon writing every snapshot into its targets' databases.
bench_config() {	# bench_config PORT STORE URL N INTERVAL TIMEOUT
	local i
	case ${FORMAT:-pprof} in
	pprof|pack) ;;
	*)	echo "bench: FORMAT is pprof or pack, not $FORMAT" >&2
		return 1 ;;
	esac
	cat <<YAML
listen: 127.0.0.1:$1
storage:
  path: $2
  format: ${FORMAT:-pprof}
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
