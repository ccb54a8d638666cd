#!/usr/bin/env bash
# One command per network-path scenario for benchmarks (issue 6): builds the path, starts the lab servers behind it,
# runs a command as the client, and tears everything down again (also on failure or Ctrl+C).
#
#   scripts/netns-scenario.sh direct|delay|vpn [--id N] [--base PORT] [--delay MS] [--jitter MS] -- CMD ARGS...
#
#   direct  client → router → server, plain forwarding (1500-byte links): the baseline for the other two.
#   delay   a packet path with added --delay ms (default 20) one way in each direction, ±--jitter ms (default 2):
#           VXLAN between client and server whose UDP crosses the user-space relay on the router
#           (bench/RdpProbe.Relay; netns.sh delay). No proxy, so the TCP handshake itself sees the delay and RTTs
#           measured from it are true; links keep 1500 bytes.
#   vpn     a real WireGuard tunnel (wireguard-go, MTU 1420) from client to server; with --delay/--jitter the
#           encrypted UDP goes through the relay, so the tunnel's overhead and smaller MTU are real.
#
# CMD runs inside the client namespace. In its arguments "{host}" becomes the target address of the scenario and
# "{port}" the lab base port (xrdp; +1 shadow NLA, +2 shadow TLS, +3 shadow RDP); the environment has
# RDPP_TARGET_HOST, RDPP_LAB_BASE and RDPP_SCENARIO too. Example:
#   scripts/netns-scenario.sh vpn --delay 10 -- dotnet src/RdpProbe.Cli/bin/Release/net10.0/rdpprobe.dll bench {host}:{port} -n 30
# Exit status: CMD's. Needs root, iproute2, iptables, wireguard-go/wireguard-tools (vpn) and the lab's packages.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
die() { echo "netns-scenario.sh: $*" >&2; exit 2; }

scenario="${1:-}"
[[ "$scenario" == "direct" || "$scenario" == "delay" || "$scenario" == "vpn" ]] || die "usage: netns-scenario.sh direct|delay|vpn [--id N] [--base PORT] [--delay MS] [--jitter MS] -- CMD ARGS..."
shift
id=5
base=15589
delay=""
jitter=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --id) id="${2:?}"; shift 2 ;;
        --base) base="${2:?}"; shift 2 ;;
        --delay) delay="${2:?}"; shift 2 ;;
        --jitter) jitter="${2:?}"; shift 2 ;;
        --) shift; break ;;
        *) die "unknown option: $1 (the command goes after --)" ;;
    esac
done
[[ $# -gt 0 ]] || die "no command given after --"
[[ "$base" =~ ^[0-9]+$ ]] || die "--base must be a port"

net_c="10.213.$((10 * id + 1))"
net_s="10.213.$((10 * id + 2))"
case "$scenario" in
    direct) host="${net_s}.2" ;;
    delay) host="10.215.${id}.2"; delay="${delay:-20}"; jitter="${jitter:-2}" ;;
    vpn) host="10.214.${id}.2" ;;
esac

cleanup() {
    [[ "$scenario" == "vpn" ]] && "$here/vpn.sh" down --id "$id" >/dev/null 2>&1 || true
    "$here/netns.sh" down --id "$id" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/netns.sh" up --id "$id" >&2
"$here/netns.sh" lab start --id "$id" --base "$base" >/dev/null
case "$scenario" in
    delay)
        "$here/netns.sh" delay start --id "$id" --delay "$delay" --jitter "$jitter" >&2 ;;
    vpn)
        if [[ -n "$delay" ]]; then
            "$here/vpn.sh" up --id "$id" --delay "$delay" --jitter "${jitter:-0}" >&2
        else
            "$here/vpn.sh" up --id "$id" >&2
        fi ;;
esac

args=()
for a in "$@"; do
    a="${a//\{host\}/$host}"
    a="${a//\{port\}/$base}"
    args+=("$a")
done
echo "scenario $scenario: target $host, lab base $base${delay:+, delay ${delay} ms ± ${jitter:-0} ms each way}" >&2
set +e
RDPP_TARGET_HOST="$host" RDPP_LAB_BASE="$base" RDPP_SCENARIO="$scenario" ip netns exec "rdpp${id}-client" "${args[@]}"
status=$?
set -e
exit "$status"
