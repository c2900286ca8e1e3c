#!/usr/bin/env bash
# The main job: Dockyard driving real containers on real networks, through its docker-style
# CLI and its daemon, then a compose project; every command is printed before it runs.
# It uses its own state root and socket, and removes everything it made at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
D="$PWD/.venv/bin/dockyard"
STATE="$(mktemp -d /var/tmp/dockyard-demo.XXXXXX)"
RUN="/run/dockyard-demo-$$"
export DOCKER_HOST="unix://$RUN/dockyard.sock"

show() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

# --dns 127.0.0.1: names the containers don't own are forwarded to this machine's loopback
# only (nothing here asks for outside names; drop the flag to use the host's resolvers).
"$D" daemon --host "$DOCKER_HOST" --root "$STATE" --exec-root "$RUN" --dns 127.0.0.1 \
    >"$STATE/daemon.log" 2>&1 &
DAEMON=$!
cleanup() {
    set +e
    "$D" compose -f examples/hello/compose.yaml down -v >/dev/null 2>&1
    "$D" rm -f web api >/dev/null 2>&1
    kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null
    "$D" reset --root "$STATE" --exec-root "$RUN" >/dev/null
    rm -rf "$STATE" "$RUN"
    printf '\ncleaned up: containers, networks, namespaces, veths and the nftables table are gone\n'
}
trap cleanup EXIT
for _ in $(seq 100); do "$D" version >/dev/null 2>&1 && break; sleep 0.1; done

echo "== A busybox image from Debian's busybox-static (no registry here)"
"$PWD/.venv/bin/python" -c "from dockyard.images.busybox import build_busybox_rootfs_tar as b; \
b('$STATE/busybox.tar')"
show "$D" import -c 'CMD ["sh"]' "$STATE/busybox.tar" busybox
echo
echo "== A user network and two containers; web publishes port 80 on the host's 8080"
show "$D" network create shop
show "$D" run -d --name web --network shop --network-alias www -p 8080:80 busybox \
    sh -c 'echo "hello from web" > /index.html && exec httpd -f -p 80 -h /'
show "$D" run -d --name api --network shop busybox sleep 300
show "$D" ps
show "$D" inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}: {{$v.IPAddress}} via {{$v.Gateway}}{{end}}' web
echo
echo "== Service discovery by the embedded DNS at 127.0.0.11, from inside api"
show "$D" exec api cat /etc/resolv.conf
show "$D" exec api nslookup www
show "$D" exec api wget -qO- http://web/
echo
echo "== The published port, from the host (DNAT in Dockyard's own nftables table)"
show "$D" port web
show busybox wget -qO- http://127.0.0.1:8080/
echo
echo "== Who reaches whom, why, and checked with packets from inside each container"
show "$D" explain
show "$D" rm -f web api
show "$D" network rm shop
echo
echo "== A compose project (examples/hello): web + client that fetches web by service name"
show "$D" compose -f examples/hello/compose.yaml up -d
show "$D" compose -f examples/hello/compose.yaml ps
for _ in $(seq 50); do
    "$D" compose -f examples/hello/compose.yaml logs client 2>/dev/null | grep -q hello && break
    sleep 0.2
done
show "$D" compose -f examples/hello/compose.yaml logs client
echo
echo "== The plan's reachability, held against the running project (probed from inside each container)"
show "$D" compose -f examples/hello/compose.yaml plan --verify
show "$D" compose -f examples/hello/compose.yaml down -v
