#!/usr/bin/env bash
# bench/natscluster.sh: standalone nats-servers made from the repository's
# nats.conf, clustered when there are several, for measuring YMERA against an
# external NATS: three replicas, sync_interval: always (docs/performance.md,
# "Production durability").
#
#   bench/natscluster.sh start N [always]   start N servers; prints NATS_URL
#   bench/natscluster.sh stop               stop them and delete their data
#
# Server i listens for clients on 127.0.0.1:(14220+i) and for routes on
# 127.0.0.1:(16220+i); its config and store live under NATSCLUSTER_DIR
# (default /tmp/ymera-natscluster). The servers need nats-server 2.12 or
# newer on PATH or in $(go env GOPATH)/bin:
#   go install github.com/nats-io/nats-server/v2@v2.15.2
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${NATSCLUSTER_DIR:-/tmp/ymera-natscluster}

stop() {
	if [ -d "$dir" ]; then
		for pidfile in "$dir"/*.pid; do
			[ -e "$pidfile" ] || continue
			pid=$(cat "$pidfile")
			kill "$pid" 2>/dev/null || true
			while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		done
		rm -rf "$dir"
	fi
}

usage() {
	echo "usage: $0 start N [always] | stop" >&2
	exit 2
}

case "${1:-}" in
stop)
	stop
	exit 0
	;;
start) ;;
*) usage ;;
esac

n=${2:-}
sync=${3:-}
[[ "$n" =~ ^[1-9]$ ]] || { echo "$0: N=${n@Q}: expected 1 to 9 servers" >&2; exit 2; }
[[ -z "$sync" || "$sync" == always ]] || { echo "$0: ${sync@Q}: expected \"always\" or nothing" >&2; exit 2; }

bin=$(command -v nats-server || true)
if [ -z "$bin" ] && [ -x "$(go env GOPATH 2>/dev/null)/bin/nats-server" ]; then
	bin=$(go env GOPATH)/bin/nats-server
fi
[ -n "$bin" ] || { echo "$0: no nats-server; go install github.com/nats-io/nats-server/v2@v2.15.2" >&2; exit 1; }

stop
mkdir -p "$dir"
routes=""
for i in $(seq 1 "$n"); do routes="$routes \"nats-route://127.0.0.1:$((16220 + i))\","; done
urls=""
for i in $(seq 1 "$n"); do
	conf="$dir/n$i.conf"
	# The operator's nats.conf, with this server's name, port and store, and
	# without the monitoring port.
	sed -e "s/^server_name: ymera-1$/server_name: n$i/" \
		-e "s/^listen: 127.0.0.1:4222$/listen: 127.0.0.1:$((14220 + i))/" \
		-e "/^http: /d" \
		-e "s#store_dir: \"./data/nats\"#store_dir: \"$dir/js$i\"#" \
		"$root/nats.conf" >"$conf"
	if [ "$sync" = always ]; then
		sed -i 's/^  # sync_interval: always$/  sync_interval: always/' "$conf"
		grep -q '^  sync_interval: always$' "$conf" || { echo "$0: nats.conf no longer has the sync_interval line" >&2; exit 1; }
	fi
	if [ "$n" -gt 1 ]; then
		printf 'cluster {\n  name: ymera-bench\n  listen: 127.0.0.1:%d\n  routes: [%s ]\n}\n' $((16220 + i)) "$routes" >>"$conf"
	fi
	"$bin" -c "$conf" >"$dir/n$i.log" 2>&1 &
	echo $! >"$dir/n$i.pid"
	urls="$urls,nats://127.0.0.1:$((14220 + i))"
done
urls=${urls#,}

# Ready when every server says so and, in a cluster, one of them has been
# elected JetStream's meta leader.
for _ in $(seq 1 100); do
	ready=1
	for i in $(seq 1 "$n"); do grep -q "Server is ready" "$dir/n$i.log" || ready=0; done
	if [ "$n" -gt 1 ] && ! grep -q "new metadata leader" "$dir"/n*.log; then
		ready=0
	fi
	if [ "$ready" = 1 ]; then
		echo "NATS_URL=$urls"
		exit 0
	fi
	sleep 0.2
done
echo "$0: the servers did not become ready within 20 s; logs in $dir" >&2
exit 1
