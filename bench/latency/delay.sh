#!/usr/bin/env bash
# Scenario (b): a path with added delay and jitter. Client and server namespaces (scripts/netns.sh, id 5) joined by a
# VXLAN tunnel whose UDP packets go through the user-space delay relay (bench/RdpProbe.Relay) in the router namespace,
# one relay mapping per direction. Every IP packet, the TCP handshake included, is delayed: the kernel's RTT estimate
# of the connect sees the whole path (a TCP-proxying relay would answer the SYN itself and hide the delay).
# The lab servers run in the server namespace (netns.sh lab, DNAT to its loopback).
#   bench/latency/delay.sh             (DELAY=25 ms per direction, JITTER=5 ms, RUNS=20, PEER_RUNS=10; KEEP=1 leaves it up)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need dotnet tcpdump tshark jq hyperfine xfreerdp nmap Xvfb ip ethtool
ID="${ID:-5}"; BASE="${BASE:-25389}"; DELAY="${DELAY:-25}"; JITTER="${JITTER:-5}"
ns_c="rdpp${ID}-client"; ns_s="rdpp${ID}-server"; ns_r="rdpp${ID}-router"
net_c="10.213.$((10 * ID + 1))"; net_s="10.213.$((10 * ID + 2))"
vx="vxb${ID}"; tun_c="10.215.${ID}.1"; tun_s="10.215.${ID}.2"
RELAY_PID=""

cleanup() {
    stop_xvfb
    [[ -n "$RELAY_PID" ]] && kill -TERM "$RELAY_PID" 2>/dev/null || true
    if [[ "${KEEP:-0}" != 1 ]]; then
        "$ROOT/scripts/netns.sh" lab stop --id "$ID" --base "$BASE" >/dev/null 2>&1 || true
        "$ROOT/scripts/netns.sh" down --id "$ID" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

build
dotnet build "$ROOT/bench/RdpProbe.Relay/RdpProbe.Relay.csproj" -c Release -v q -nologo >/dev/null || die "could not build the relay"
relay="$ROOT/bench/RdpProbe.Relay/bin/Release/net10.0/rdpprobe-relay.dll"
"$ROOT/scripts/netns.sh" up --id "$ID" >/dev/null
"$ROOT/scripts/netns.sh" lab start --id "$ID" --base "$BASE" >/dev/null

# VXLAN endpoints send to the router; the relay there forwards each direction with its delay ("up" of each mapping).
# One fixed UDP source port per side (srcport 4789 4790): the relay keeps one session per client address and has a
# bounded session table, and VXLAN would otherwise pick a new source port per inner flow.
ip netns exec "$ns_c" ip link add "$vx" type vxlan id $((700 + ID)) local "${net_c}.2" remote "${net_c}.1" dstport 4789 srcport 4789 4790
ip netns exec "$ns_s" ip link add "$vx" type vxlan id $((700 + ID)) local "${net_s}.2" remote "${net_s}.1" dstport 4789 srcport 4789 4790
ip netns exec "$ns_c" ip addr add "$tun_c/24" dev "$vx"
ip netns exec "$ns_s" ip addr add "$tun_s/24" dev "$vx"
# Checksums in software: with offload the inner TCP checksum is left for "hardware" that never sees the packet once
# the relay has copied it through a user-space socket, and the server drops every segment.
for ns in "$ns_c" "$ns_s"; do
    ip netns exec "$ns" ethtool -K "$vx" tx off >/dev/null
    ip netns exec "$ns" ip link set "$vx" mtu 1450 up
done
log="$(mktemp)"
setsid ip netns exec "$ns_r" dotnet "$relay" --udp "${net_c}.1:4789=${net_s}.2:4789" --udp "${net_s}.1:4789=${net_c}.2:4789" \
    --delay-up "$DELAY" --jitter-up "$JITTER" </dev/null >"$log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 1 100); do grep -q "relay ready" "$log" && break; sleep 0.1; done
grep -q "relay ready" "$log" || { cat "$log" >&2; die "relay did not start"; }
out="$(ip netns exec "$ns_c" timeout 5 bash -c "exec 3<>/dev/tcp/${tun_s}/9" 2>&1 || true)"
[[ "$out" == *refused* ]] || die "path check through the relay failed: $out"
echo "delay path: $ns_c $tun_c -> VXLAN -> relay in $ns_r (${DELAY} ms ± ${JITTER} ms each way) -> $ns_s $tun_s"

nat_3389 "$ns_s" $((BASE + 1))
start_xvfb 88
run_side_by_side "delay-${DELAY}ms-jitter-${JITTER}ms" "$tun_s" "$BASE" "$ns_c" 3389
