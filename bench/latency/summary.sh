#!/usr/bin/env bash
# Markdown summary of one scenario's results folder: bench/latency/summary.sh OUT SCENARIO
set -euo pipefail
out="${1:?results folder}"; scenario="${2:-scenario}"
echo "### $scenario ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
for f in "$out"/bench-*.json; do
    [[ -s "$f" ]] || continue
    jq -r '
      def r: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
      "#### rdpprobe bench \(.target) — \(.runsDone) runs (+\(.warmup) warm-up), \(.runsComplete) complete, \(.tlsVersion // "no tls")\(if .withCredentials then ", with credentials" else "" end)",
      "",
      "RTT (kernel tcpi_rtt of the TCP handshake): min \(.rttMs.min|r) / median \(.rttMs.median|r) / p90 \(.rttMs.p90|r) / max \(.rttMs.max|r) ms; cold first run \(.coldRunWallMs|r) ms wall",
      "",
      "| phase | ok | min | median | p90 | p99 | max | RTTs | floor | network | server | client | time goes to |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
      (.phases[] | "| \(.phase) | \(.succeeded)/\(.attempted) | \(.wireMs.min|r) | \(.wireMs.median|r) | \(.wireMs.p90|r) | \(.wireMs.p99|r) | \(.wireMs.max|r) | \(.roundTrips.median|r) | \(.rttFloor // "-") | \(.networkMs.median|r) | \(.serverMs.median|r) | \(.clientMs.median|r) | \(.attribution // "-") |"),
      "| **total** | \(.runsComplete)/\(.runsDone) | \(.total.wireMs.min|r) | \(.total.wireMs.median|r) | \(.total.wireMs.p90|r) | \(.total.wireMs.p99|r) | \(.total.wireMs.max|r) | \(.total.roundTrips.median|r) | \(.total.rttFloor // "-") | | | wall median \(.total.wallMs.median|r) | at floor: \(.total.atFloor) |",
      ""' "$f"
done
if [[ -s "$out/turns.txt" ]]; then
    echo "#### Round trips on the wire (one run of each, tcpdump in the client's namespace)"
    echo
    echo "| command | TCP connections | turns on the deepest connection | turns in all |"
    echo "|---|---|---|---|"
    sed -E 's/^([^ ]+) connections=([0-9]+) turns_total=([0-9]+) turns_max=([0-9]+)$/| \1 | \2 | \4 | \3 |/' "$out/turns.txt"
    echo
fi
for h in auth full; do
    f="$out/hyperfine-$h.json"
    [[ -s "$f" ]] || continue
    echo "#### Whole process, wall time (hyperfine, $(jq '.results[0].times|length' "$f") runs each after 1 warm-up)"
    echo
    jq -r '
      def ms: (. * 1000 * 10 | round / 10 | tostring);
      (.results[0].median) as $base |
      "| command | mean ± sd (ms) | median | min | max | failed runs | median ÷ first row |",
      "|---|---|---|---|---|---|---|",
      (.results[] | "| \(.command) | \(.mean|ms) ± \(.stddev // 0|ms) | \(.median|ms) | \(.min|ms) | \(.max|ms) | \(.exit_codes | map(select(. != 0)) | length)/\(.exit_codes|length) | \((.median / $base * 100 | round) / 100) |")' "$f"
    echo
done
