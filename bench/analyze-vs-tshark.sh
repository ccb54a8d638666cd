#!/usr/bin/env bash
# Compares `rdpprobe analyze` (JIT and Native AOT) with `tshark -r` and with the bare SharpPcap read loop on the same
# ~1M-packet capture made by bench/capturegen from the lab's real handshakes (distinct 4-tuples, server port 3389 so
# tshark dissects RDP).
#   bench/analyze-vs-tshark.sh [PACKETS] [session|handshake|nla]
#   (nla: nothing but copies of the lab's successful NLA handshake, 76 packets each: 912000 packets = 12,000 handshakes)
# Env: RUNS (hyperfine runs, default 5), MEASURE_RUNS (in-process runs, default 5), AOT=0 to skip the AOT builds,
#      BENCH_DIR (default /tmp/rdpprobe-bench), TSHARK=0 to leave tshark out, SPEED=0 to measure only the peak memory,
#      MEMORY_RUNS (peak-memory runs per command, default 3).
# Needs: dotnet, tshark, hyperfine. Report medians: the machine is shared, so every figure is taken several times.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKETS="${1:-1000000}"
MIX="${2:-handshake}"
DIR="${BENCH_DIR:-/tmp/rdpprobe-bench}"
AOT="${AOT:-1}"
mkdir -p "$DIR"

dotnet build -c Release bench/capturegen >/dev/null
dotnet publish -c Release src/RdpProbe.Cli -o "$DIR/cli" >/dev/null
GEN="dotnet bench/capturegen/bin/Release/net10.0/capturegen.dll"
if [ "$AOT" = "1" ]; then
  # Native AOT: the CLI and the measuring tool (same reader and analyzer code, compiled ahead of time).
  dotnet publish -c Release -r linux-x64 -p:PublishAot=true src/RdpProbe.Cli -o "$DIR/cli-aot" >/dev/null
  dotnet publish -c Release -r linux-x64 -p:PublishAot=true bench/capturegen -o "$DIR/gen-aot" >/dev/null
fi

if [ "$MIX" = "nla" ]; then
  TEMPLATES="captures/lab/nla-success.pcap"
elif [ "$MIX" = "session" ]; then
  # Long sessions dominate: the common path of a real multi-gigabyte capture.
  TEMPLATES="captures/public/zeek/rdp-to-ssl.pcap captures/public/zeek/rdp-proprietary-encryption.pcap captures/public/suricata-verify/RDP-003.pcap captures/lab/nla-success.pcap captures/lab/xrdp-tls-login.pcap"
else
  # Every connection is a handshake (success and the lab's faults): the decoders' worst case.
  TEMPLATES="captures/lab/nla-success.pcap captures/lab/xrdp-tls-login.pcap captures/lab/rdp-server-rdp-security.pcap captures/lab/nla-bad-password.pcap captures/lab/mtu-blackhole.pcap captures/lab/reset-at-clienthello.pcap captures/lab/nla-server-tls-client.pcap"
fi
FILE="$DIR/$MIX-$PACKETS.pcap"
[ -f "$FILE" ] || $GEN generate "$FILE" "$PACKETS" $TEMPLATES
capinfos -c -s "$FILE" 2>/dev/null | tail -2 || true

# Peak resident memory of whole processes (GNU time's maximum RSS; the median of MEMORY_RUNS runs).
peak() {
  local name="$1"; shift
  local runs=() i kb median
  for ((i = 0; i < ${MEMORY_RUNS:-3}; i++)); do
    /usr/bin/time -o "$DIR/peak.txt" -f '%M' "$@" > /dev/null 2> /dev/null || true
    kb=$(tail -1 "$DIR/peak.txt")
    runs+=("$kb")
  done
  median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(( (${#runs[@]} + 1) / 2 ))p")
  printf '%-44s peak RSS median %6d MiB  (runs: %s KiB)\n' "$name" "$(( median / 1024 ))" "${runs[*]}"
}
echo "== peak memory, whole processes; load $(cut -d' ' -f1-3 /proc/loadavg)"
peak "bare SharpPcap loop (pointers, JIT)" $GEN bare "$FILE"
peak "rdpprobe analyze (text, JIT)" "$DIR/cli/rdpprobe" analyze "$FILE"
peak "rdpprobe analyze --json (JIT)" "$DIR/cli/rdpprobe" analyze "$FILE" --json
peak "rdpprobe analyze --jsonl (JIT)" "$DIR/cli/rdpprobe" analyze "$FILE" --jsonl
if [ "$AOT" = "1" ]; then
  peak "bare SharpPcap loop (pointers, AOT)" "$DIR/gen-aot/capturegen" bare "$FILE"
  peak "rdpprobe analyze --json (AOT)" "$DIR/cli-aot/rdpprobe" analyze "$FILE" --json
  peak "rdpprobe analyze --jsonl (AOT)" "$DIR/cli-aot/rdpprobe" analyze "$FILE" --jsonl
fi
if [ "${TSHARK:-1}" = "1" ]; then
  peak "tshark -r" tshark -r "$FILE"
fi
[ "${SPEED:-1}" = "1" ] || exit 0

echo "== in-process, JIT: bare SharpPcap loops vs analyzer (best of ${MEASURE_RUNS:-5}, allocation per packet); load $(cut -d' ' -f1-3 /proc/loadavg)"
$GEN measure "$FILE" "${MEASURE_RUNS:-5}"
if [ "$AOT" = "1" ]; then
  echo "== in-process, Native AOT; load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$DIR/gen-aot/capturegen" measure "$FILE" "${MEASURE_RUNS:-5}"
fi

echo "== wall time, whole processes (hyperfine, median is the figure to quote); load $(cut -d' ' -f1-3 /proc/loadavg)"
CMDS=(-n "bare SharpPcap loop (pointers, JIT)" "$GEN bare $FILE > /dev/null"
      -n "rdpprobe analyze --json (JIT)" "$DIR/cli/rdpprobe analyze $FILE --json > /dev/null")
if [ "$AOT" = "1" ]; then
  CMDS+=(-n "bare SharpPcap loop (pointers, AOT)" "$DIR/gen-aot/capturegen bare $FILE > /dev/null"
         -n "rdpprobe analyze --json (AOT)" "$DIR/cli-aot/rdpprobe analyze $FILE --json > /dev/null"
         -n "rdpprobe analyze --jsonl (AOT)" "$DIR/cli-aot/rdpprobe analyze $FILE --jsonl > /dev/null")
fi
if [ "${TSHARK:-1}" = "1" ]; then
  CMDS+=(-n "tshark -r" "tshark -r $FILE > /dev/null")
fi
hyperfine --warmup 1 --runs "${RUNS:-5}" --ignore-failure "${CMDS[@]}" \
  --export-markdown "$DIR/hyperfine-$MIX.md" --export-json "$DIR/hyperfine-$MIX.json"
cat "$DIR/hyperfine-$MIX.md"
# Medians and CPU per command (hyperfine's JSON keeps every run).
python3 - "$DIR/hyperfine-$MIX.json" "$PACKETS" <<'PY' || true
import json, statistics, sys
data = json.load(open(sys.argv[1]))
for r in data["results"]:
    med = statistics.median(r["times"])
    print(f'{r["command"]:<40} median {med:7.3f} s  user {r["user"]:6.3f} s  sys {r["system"]:6.3f} s')
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg), dotnet $(dotnet --version), $(tshark --version | head -1)"
