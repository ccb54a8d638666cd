#!/usr/bin/env bash
# A real WireGuard tunnel (wireguard-go, tunnel MTU 1420) between the client and server namespaces of scripts/netns.sh,
# optionally carried through the user-space delay relay in the router namespace, for the "VPN" latency scenario.
#
#   scripts/vpn.sh up   [--id N] [--delay MS] [--jitter MS]
#   scripts/vpn.sh down [--id N]
#
# Needs `scripts/netns.sh up --id N` first (and `netns.sh lab start` for servers to talk to).
# Tunnel addresses: client 10.214.<N>.1, server 10.214.<N>.2 (/24); interfaces wgc<N> (client) and wgs<N> (server):
# the names differ because wireguard-go's control sockets share /var/run/wireguard. The lab servers answer on the
# server's tunnel address too (netns.sh lab DNATs every non-loopback interface), so the target over the VPN is
# 10.214.<N>.2:BASE. With --delay/--jitter the client's WireGuard endpoint is the relay on the router
# (10.213.<10N+1>.1:51820), which forwards the encrypted UDP to the server with the added delay; without them the
# endpoint is the server itself. `down` deletes both interfaces (wireguard-go exits with them) and stops the relay.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
die() { echo "vpn.sh: $*" >&2; exit 2; }

cmd="${1:-}"
[[ "$cmd" == "up" || "$cmd" == "down" ]] || die "usage: vpn.sh up|down [--id N] [--delay MS] [--jitter MS]"
shift
id="${RDPP_NETNS_ID:-0}"
delay=""
jitter=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --id) id="${2:?}"; shift 2 ;;
        --delay) delay="${2:?}"; shift 2 ;;
        --jitter) jitter="${2:?}"; shift 2 ;;
        *) die "unknown option: $1" ;;
    esac
done
[[ "$id" =~ ^[0-9]$ ]] || die "--id must be 0..9"
[[ -z "$delay" || "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--delay must be milliseconds"
[[ "$jitter" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--jitter must be milliseconds"

if [[ "$id" == "0" ]]; then prefix="rdpp-"; else prefix="rdpp${id}-"; fi
ns_client="${prefix}client"; ns_server="${prefix}server"; ns_router="${prefix}router"
net_c="10.213.$((10 * id + 1))"; net_s="10.213.$((10 * id + 2))"
server_addr="${net_s}.2"
wg_c="wgc${id}"; wg_s="wgs${id}"
tun_c="10.214.${id}.1"; tun_s="10.214.${id}.2"
port=51820
keys="/tmp/rdpp-vpn-${id}"

exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

down() {
    exists "$ns_client" && nsx "$ns_client" ip link del "$wg_c" 2>/dev/null || true
    exists "$ns_server" && nsx "$ns_server" ip link del "$wg_s" 2>/dev/null || true
    rm -f "/var/run/wireguard/${wg_c}.sock" "/var/run/wireguard/${wg_s}.sock"
    rm -rf "$keys"
    if exists "$ns_router"; then "$here/netns.sh" relay stop --id "$id" >/dev/null; fi
}

up() {
    command -v wireguard-go >/dev/null && command -v wg >/dev/null || die "needs wireguard-go and wg (apt-get install wireguard-go wireguard-tools)"
    exists "$ns_client" && exists "$ns_server" || die "namespaces are not up (run: scripts/netns.sh up --id $id)"
    down
    trap 'down' ERR
    mkdir -p "$keys"; chmod 700 "$keys"
    (umask 077; wg genkey >"$keys/client.key"; wg genkey >"$keys/server.key")
    wg pubkey <"$keys/client.key" >"$keys/client.pub"
    wg pubkey <"$keys/server.key" >"$keys/server.pub"

    # wireguard-go creates its TUN device in the namespace it runs in and daemonises there.
    nsx "$ns_client" wireguard-go "$wg_c" >/dev/null 2>&1
    nsx "$ns_server" wireguard-go "$wg_s" >/dev/null 2>&1

    local endpoint="${server_addr}:${port}"
    if [[ -n "$delay" ]]; then
        "$here/netns.sh" relay start --id "$id" --udp "$port" --delay "$delay" --jitter "$jitter" >/dev/null
        endpoint="${net_c}.1:${port}"
    fi

    nsx "$ns_server" wg set "$wg_s" listen-port "$port" private-key "$keys/server.key" peer "$(cat "$keys/client.pub")" allowed-ips "${tun_c}/32"
    nsx "$ns_client" wg set "$wg_c" private-key "$keys/client.key" peer "$(cat "$keys/server.pub")" endpoint "$endpoint" allowed-ips "${tun_s}/32" persistent-keepalive 25
    nsx "$ns_server" ip addr add "${tun_s}/24" dev "$wg_s"
    nsx "$ns_client" ip addr add "${tun_c}/24" dev "$wg_c"
    nsx "$ns_server" ip link set "$wg_s" mtu 1420 up
    nsx "$ns_client" ip link set "$wg_c" mtu 1420 up
    trap - ERR

    # The tunnel is up when a TCP connect through it is answered (refused is an answer: nothing listens on 9).
    local out
    for _ in 1 2 3 4 5; do
        out="$(nsx "$ns_client" timeout 3 bash -c "exec 3<>/dev/tcp/${tun_s}/9" 2>&1 || true)"
        [[ "$out" == *refused* ]] && break
        sleep 0.5
    done
    [[ "$out" == *refused* ]] || { down; die "tunnel check failed: $out"; }
    echo "vpn id=$id client=$ns_client/$wg_c/$tun_c server=$ns_server/$wg_s/$tun_s mtu=1420 endpoint=$endpoint${delay:+ delay=${delay}ms jitter=${jitter}ms}"
}

case "$cmd" in
    up) up ;;
    down) down ;;
esac
