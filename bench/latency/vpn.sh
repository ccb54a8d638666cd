#!/usr/bin/env bash
# Scenario (c): a real VPN path. WireGuard (wireguard-go, tunnel MTU 1420) between the client and server namespaces
# (scripts/netns.sh id 6 + scripts/vpn.sh), its encrypted UDP carried through the user-space delay relay in the router
# namespace, so the tunnel's MTU, encapsulation overhead and user-space crypto are real and the delay sits under them.
#   bench/latency/vpn.sh               (DELAY=25 ms per direction, JITTER=5 ms, RUNS=20, PEER_RUNS=10; KEEP=1 leaves it up)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need dotnet tcpdump tshark jq hyperfine xfreerdp nmap Xvfb ip wireguard-go wg
ID="${ID:-6}"; BASE="${BASE:-26389}"; DELAY="${DELAY:-25}"; JITTER="${JITTER:-5}"
ns_c="rdpp${ID}-client"

cleanup() {
    stop_xvfb
    if [[ "${KEEP:-0}" != 1 ]]; then
        "$ROOT/scripts/vpn.sh" down --id "$ID" >/dev/null 2>&1 || true
        "$ROOT/scripts/netns.sh" lab stop --id "$ID" --base "$BASE" >/dev/null 2>&1 || true
        "$ROOT/scripts/netns.sh" down --id "$ID" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

build
"$ROOT/scripts/netns.sh" up --id "$ID" >/dev/null
"$ROOT/scripts/netns.sh" lab start --id "$ID" --base "$BASE" >/dev/null
"$ROOT/scripts/vpn.sh" up --id "$ID" --delay "$DELAY" --jitter "$JITTER"
nat_3389 "rdpp${ID}-server" $((BASE + 1))
start_xvfb 89
run_side_by_side "vpn-wireguard-${DELAY}ms-jitter-${JITTER}ms" "10.214.${ID}.2" "$BASE" "$ns_c" 3389
