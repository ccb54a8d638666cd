#!/usr/bin/env bash
# Scenario (a): direct loopback against the lab servers (scripts/lab.sh on its own base, default 23389), RdpProbe side
# by side with xfreerdp +auth-only and nmap's rdp scripts in the same run.
#   bench/latency/direct.sh            (RUNS=20 PEER_RUNS=10 BASE=23389 by default)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need dotnet tcpdump tshark jq hyperfine xfreerdp nmap Xvfb
BASE="${BASE:-23389}"
build
"$ROOT/scripts/lab.sh" start --base "$BASE" >/dev/null
start_xvfb 87
trap stop_xvfb EXIT
run_side_by_side direct 127.0.0.1 "$BASE"
