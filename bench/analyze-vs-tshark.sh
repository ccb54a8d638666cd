#!/usr/bin/env bash
# Compares `rdpprobe analyze` with `tshark -r` and with the bare SharpPcap read loop on the same ~1M-packet capture
# made by bench/capturegen from the lab's real handshakes (distinct 4-tuples, server port 3389 so tshark dissects RDP).
#   bench/analyze-vs-tshark.sh [PACKETS] [session|handshake]
# Needs: dotnet, tshark, hyperfine. Writes its captures to ${BENCH_DIR:-/tmp/rdpprobe-bench}.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-1000000}"
MIX="${2:-handshake}"
DIR="${BENCH_DIR:-/tmp/rdpprobe-bench}"
mkdir -p "$DIR"

dotnet build -c Release bench/capturegen >/dev/null
dotnet publish -c Release src/RdpProbe.Cli -o "$DIR/cli" >/dev/null
GEN="dotnet bench/capturegen/bin/Release/net10.0/capturegen.dll"

if [ "$MIX" = "session" ]; then
  # Long sessions dominate: the common path of a real multi-gigabyte capture.
  TEMPLATES="captures/public/zeek/rdp-to-ssl.pcap captures/public/zeek/rdp-proprietary-encryption.pcap captures/public/suricata-verify/RDP-003.pcap captures/lab/nla-success.pcap captures/lab/xrdp-tls-login.pcap"
else
  # Every connection is a handshake (success and the lab's faults): the decoders' worst case.
  TEMPLATES="captures/lab/nla-success.pcap captures/lab/xrdp-tls-login.pcap captures/lab/rdp-server-rdp-security.pcap captures/lab/nla-bad-password.pcap captures/lab/mtu-blackhole.pcap captures/lab/reset-at-clienthello.pcap captures/lab/nla-server-tls-client.pcap"
fi
FILE="$DIR/$MIX-$PACKETS.pcap"
[ -f "$FILE" ] || $GEN generate "$FILE" "$PACKETS" $TEMPLATES
capinfos -c -s "$FILE" 2>/dev/null | tail -2 || true

echo "== in-process: bare SharpPcap loop vs analyzer (best of 5, allocation per packet)"
$GEN measure "$FILE" 5

echo "== wall time, whole processes (hyperfine)"
hyperfine --warmup 1 --runs "${RUNS:-3}" --ignore-failure \
  -n "rdpprobe analyze --json" "$DIR/cli/rdpprobe analyze $FILE --json > /dev/null" \
  -n "tshark -r" "tshark -r $FILE > /dev/null" \
  --export-markdown "$DIR/hyperfine-$MIX.md"
cat "$DIR/hyperfine-$MIX.md"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg), dotnet $(dotnet --version), $(tshark --version | head -1)"
