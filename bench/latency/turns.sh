#!/usr/bin/env bash
# Counts TCP connections and network round trips ("turns") in a capture, per server port:
#   bench/latency/turns.sh FILE.pcap PORT
# A turn is the client sending (a SYN or payload) and then the server answering (SYN/ACK or payload); more segments in
# the same direction belong to the same flight. Prints: connections=N turns_total=T turns_max=M (M = the connection
# with the most turns, i.e. the handshake's depth on one socket).
set -euo pipefail
file="${1:?capture file}"; port="${2:?server port}"
tshark -r "$file" -Y "tcp.port==$port" -T fields -e tcp.stream -e tcp.srcport -e tcp.len -e tcp.flags.syn -e tcp.flags.ack 2>/dev/null |
awk -v port="$port" '
  { s=$1; fromServer=($2==port); len=$3+0; syn=($4=="1"||$4=="True"); }
  !(s in seen) { seen[s]=1; conns++ }
  !fromServer && (syn || len>0) { waiting[s]=1; next }
  fromServer && (syn || len>0) && waiting[s] { turns[s]++; total++; waiting[s]=0 }
  END { max=0; for (k in turns) if (turns[k]>max) max=turns[k]; printf "connections=%d turns_total=%d turns_max=%d\n", conns, total, max }'
