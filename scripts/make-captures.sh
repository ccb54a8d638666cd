#!/usr/bin/env bash
# Regenerates captures/lab/*.pcap from the lab's real servers, with xfreerdp as the client (see captures/README.md).
#
#   scripts/make-captures.sh [NAME...]      (no name: all of them)
#
# Runs a lab on base $RDPPROBE_CAPTURE_BASE (default 3388) so that the NLA server sits on 3389, where tshark and
# Wireshark decode RDP without "-d tcp.port==PORT,tpkt":
#   3388 xrdp   3389 shadow NLA   3390 shadow TLS   3391 shadow RDP   3393 xrdp TLS 1.0 only   3397 closed
# The pmtud-* captures go through scripts/netns.sh (namespaces id $RDPPROBE_CAPTURE_NETNS_ID, default 7, with a
# 1200-byte hop) and a second lab inside the server namespace (state in .lab/netns<id>-<base>/).
# Needs root (tcpdump on lo, iptables), xfreerdp (freerdp2-x11), tcpdump and python3. Every capture is bounded
# with `timeout`, taken on lo with a full snaplen, and restricted to the server's port (plus ICMP for UDP).
# Frame numbers quoted in captures/README.md refer to the committed files; a new run can differ by a frame or two
# (server timing, retransmissions), so re-check them with tshark after regenerating.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly BASE="${RDPPROBE_CAPTURE_BASE:-3388}"
readonly OUT="$ROOT/captures/lab"
readonly XRDP=$((BASE + 0)) NLA=$((BASE + 1)) TLS=$((BASE + 2)) RDP=$((BASE + 3)) TLS10=$((BASE + 5)) CLOSED=$((BASE + 9))
readonly UDP_PORT=$((BASE + 1))
# The datagrams plus only the ICMP errors that quote them (quoted UDP destination port at ICMP offset 8+20+2),
# not ICMP about other people's traffic on this machine.
readonly UDP_FILTER="udp port $UDP_PORT or (icmp and icmp[30:2] = $UDP_PORT)"

die() {
  echo "make-captures.sh: $*" >&2
  exit 1
}

for tool in tcpdump xfreerdp python3 iptables; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install -y tcpdump freerdp2-x11 python3 iptables)"
done
[[ $(id -u) -eq 0 ]] || die "run as root (tcpdump on lo and iptables need it)"

mkdir -p "$OUT"
started_lab=0
if ! "$ROOT/scripts/lab.sh" status --base "$BASE" >/dev/null 2>&1; then
  started_lab=1
fi
"$ROOT/scripts/lab.sh" start --base "$BASE" >/dev/null
DISPLAY="$("$ROOT/scripts/lab.sh" display --base "$BASE")"
export DISPLAY

tcpdump_pid=""
cleanup() {
  [[ -n "$tcpdump_pid" ]] && kill -INT "$tcpdump_pid" 2>/dev/null || true
  "$ROOT/scripts/faults.sh" del reset-at-clienthello "$TLS" >/dev/null 2>&1 || true
  "$ROOT/scripts/faults.sh" del blackhole "$TLS" >/dev/null 2>&1 || true
  "$ROOT/scripts/faults.sh" del udp-drop "$UDP_PORT" >/dev/null 2>&1 || true
  if ((started_lab)); then
    "$ROOT/scripts/lab.sh" stop --base "$BASE" >/dev/null || true
  fi
}
trap cleanup EXIT

# capture NAME FILTER SECONDS command...: tcpdump on lo while the command runs (bounded by SECONDS).
capture() {
  local name="$1" filter="$2" seconds="$3"
  shift 3
  local file="$OUT/$name.pcap" log="$OUT/.$name.tcpdump.log"
  rm -f "$file"
  # --immediate-mode: without it libpcap hands packets over in ring-buffer blocks, and the frames still in an
  # unfinished block when tcpdump is stopped never reach the file (the connection's last frames went missing).
  timeout $((seconds + 10)) tcpdump -i lo -s 0 -U --immediate-mode -nn -w "$file" "$filter" 2>"$log" &
  tcpdump_pid=$!
  for ((i = 0; i < 50; i++)); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    sleep 0.1
  done
  local rc=0
  # bash -c so that the exported helper functions (xf, udp_syn) can be bounded by timeout too.
  timeout "$seconds" bash -c '"$@"' _ "$@" </dev/null >"$OUT/.$name.client.log" 2>&1 || rc=$?
  sleep 1.5
  kill -INT "$tcpdump_pid" 2>/dev/null || true
  wait "$tcpdump_pid" 2>/dev/null || true
  tcpdump_pid=""
  rm -f "$log"
  printf '%-24s client exit %-3s %s packets\n' "$name" "$rc" "$(tcpdump -nn -r "$file" 2>/dev/null | wc -l)"
  grep -E 'exit status|ERRCONNECT|Error:|ERRINFO' "$OUT/.$name.client.log" | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] /    /' | sort -u | head -6 || true
  rm -f "$OUT/.$name.client.log"
}

xf() {
  xfreerdp /cert:ignore "$@"
}

# A well-formed MS-RDPEUDP SYN (MS-RDPEUDP 2.2.2.1 / 2.2.3.1, 2.2.3.2, 2.2.3.5; big-endian), padded to 1232 bytes,
# sent three times one second apart like a client retrying, to UDP port $1.
udp_syn() {
  python3 - "$1" <<'EOF'
import os, socket, struct, sys, time
port = int(sys.argv[1])
SYN, CORRELATION_ID, SYNEX = 0x0001, 0x0800, 0x1000
fec = struct.pack(">IHH", 0xFFFFFFFF, 64, SYN | CORRELATION_ID | SYNEX)   # snSourceAck -1, uReceiveWindowSize, uFlags
syndata = struct.pack(">IHH", 0x2A2A0001, 1232, 1232)                    # snInitialSequenceNumber, uUpStreamMtu, uDownStreamMtu
correlation = bytes.fromhex("5244505052304245" "4c41424341505431") + bytes(16)   # uCorrelationId + 16 reserved bytes
synex = struct.pack(">HH", 0x0001, 0x0002)                               # RDPUDP_VERSION_INFO_VALID, RDPUDP_PROTOCOL_VERSION_2
datagram = (fec + syndata + correlation + synex).ljust(1232, b"\0")
assert len(datagram) == 1232
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.connect(("127.0.0.1", port))
    s.settimeout(1.0)
    for attempt in range(3):
        started = time.monotonic()
        try:
            s.send(datagram)
            print(f"attempt {attempt}: reply of {len(s.recv(2048))} bytes")
        except socket.timeout:
            print(f"attempt {attempt}: no reply within 1 s")
        except ConnectionRefusedError:
            print(f"attempt {attempt}: ICMP port unreachable")
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
EOF
}

export -f xf udp_syn

want() {
  [[ ${#SELECTED[@]} -eq 0 ]] && return 0
  local n
  for n in "${SELECTED[@]}"; do [[ "$n" == "$1" ]] && return 0; done
  return 1
}
SELECTED=("$@")

want nla-success && capture nla-success "tcp port $NLA" 20 \
  xf "/v:127.0.0.1:$NLA" /u:probe /d:LAB '/p:Passw0rd!' +auth-only
want nla-bad-password && capture nla-bad-password "tcp port $NLA" 20 \
  xf "/v:127.0.0.1:$NLA" /u:probe /d:LAB /p:wrong-password +auth-only
want nla-unknown-user && capture nla-unknown-user "tcp port $NLA" 20 \
  xf "/v:127.0.0.1:$NLA" /u:nobody /d:LAB '/p:Passw0rd!' +auth-only
want nla-server-tls-client && capture nla-server-tls-client "tcp port $NLA" 20 \
  xf "/v:127.0.0.1:$NLA" /u:probe /d:LAB '/p:Passw0rd!' /sec:tls +auth-only
want tls-server-rdp-client && capture tls-server-rdp-client "tcp port $TLS" 20 \
  xf "/v:127.0.0.1:$TLS" /u:probe /p:x /sec:rdp +auth-only
want rdp-server-rdp-security && capture rdp-server-rdp-security "tcp port $RDP" 20 \
  xf "/v:127.0.0.1:$RDP" /u:probe /p:x /sec:rdp +auth-only
# xfreerdp's defaults (no /sec): it asks for ssl|hybrid, is refused, retries with ssl, is refused, then falls back to
# Standard RDP Security on a third connection (an attempt chain, Analysis/AttemptChains.cs).
want xfreerdp-fallback-rdp-security && capture xfreerdp-fallback-rdp-security "tcp port $RDP" 20 \
  xf "/v:127.0.0.1:$RDP" /u:probe /p:x +auth-only
# xfreerdp's defaults against a server that accepts only TLS 1.0 (ERRCONNECT_TLS_CONNECT_FAILED).
want xfreerdp-tls10-only-xrdp && capture xfreerdp-tls10-only-xrdp "tcp port $TLS10" 20 \
  xf "/v:127.0.0.1:$TLS10" /u:probe /p:x +auth-only
want xrdp-nla-client && capture xrdp-nla-client "tcp port $XRDP" 20 \
  xf "/v:127.0.0.1:$XRDP" /u:probe /d:LAB /p:x /sec:nla +auth-only
# A full connection to xrdp's login screen; the client is stopped after 5 s (timeout), so the capture ends with
# the client's FIN/RST, not with a server action.
want xrdp-tls-login && capture xrdp-tls-login "tcp port $XRDP" 5 \
  xf "/v:127.0.0.1:$XRDP" /sec:tls /size:640x480 /bpp:16 -wallpaper /network:lan

if want reset-at-clienthello; then
  "$ROOT/scripts/faults.sh" add reset-at-clienthello "$TLS"
  # xfreerdp hangs after reporting the TLS failure until timeout stops it, so keep the bound short.
  capture reset-at-clienthello "tcp port $TLS" 6 xf "/v:127.0.0.1:$TLS" /u:probe /p:x /sec:tls +auth-only
  "$ROOT/scripts/faults.sh" del reset-at-clienthello "$TLS"
fi
if want mtu-blackhole; then
  "$ROOT/scripts/faults.sh" add blackhole "$TLS"
  capture mtu-blackhole "tcp port $TLS" 8 xf "/v:127.0.0.1:$TLS" /u:probe /p:x /sec:tls +auth-only
  "$ROOT/scripts/faults.sh" del blackhole "$TLS"
fi
# ---- lane attrib (issue 11): faults whose cause must be attributed right (resets, cleartext DPUM, downgrade, stop).
# Thresholds are IP bytes the client has sent (connbytes), measured with both xfreerdp 2.11 and the probe: 1200 is
# crossed by the NTLM AUTHENTICATE on the NLA server, 1000 by the MCS Connect Initial on xrdp.
readonly BADKEY=$((BASE + 10)) NOCERT=$((BASE + 6))
cleanup_attrib() {
  "$ROOT/scripts/faults.sh" del reset-after-bytes "$NLA" 1200 >/dev/null 2>&1 || true
  "$ROOT/scripts/faults.sh" del reset-after-bytes "$XRDP" 1000 >/dev/null 2>&1 || true
  "$ROOT/scripts/faults.sh" del sigstop "$XRDP" >/dev/null 2>&1 || true
}
if want attrib-reset-after-authenticate; then
  "$ROOT/scripts/faults.sh" add reset-after-bytes "$NLA" 1200
  capture attrib-reset-after-authenticate "tcp port $NLA" 8 xf "/v:127.0.0.1:$NLA" /u:probe /d:LAB '/p:Passw0rd!' +auth-only || true
  cleanup_attrib
fi
if want attrib-reset-at-mcs; then
  "$ROOT/scripts/faults.sh" add reset-after-bytes "$XRDP" 1000
  capture attrib-reset-at-mcs "tcp port $XRDP" 8 xf "/v:127.0.0.1:$XRDP" /u:probe /p:x +auth-only || true
  cleanup_attrib
fi
want attrib-xrdp-badkey && capture attrib-xrdp-badkey "tcp port $BADKEY" 8 \
  xf "/v:127.0.0.1:$BADKEY" /u:probe /p:x +auth-only
want attrib-downgrade && capture attrib-downgrade "tcp port $NOCERT" 8 \
  xf "/v:127.0.0.1:$NOCERT" /u:probe /p:x /sec:tls +auth-only
if want attrib-sigstop; then
  "$ROOT/scripts/faults.sh" add sigstop "$XRDP"
  capture attrib-sigstop "tcp port $XRDP" 8 xf "/v:127.0.0.1:$XRDP" /u:probe /p:x +auth-only || true
  cleanup_attrib
fi
# Foreign services on the RDP port (lab.sh: base+11 python3 -m http.server, base+12 openssl s_server, base+13 sshd).
readonly HTTP=$((BASE + 11)) TLS_SERVER=$((BASE + 12)) SSHD=$((BASE + 13))
want foreign-http && capture foreign-http "tcp port $HTTP" 8 xf "/v:127.0.0.1:$HTTP" /u:probe /p:x +auth-only
want foreign-tls && capture foreign-tls "tcp port $TLS_SERVER" 8 xf "/v:127.0.0.1:$TLS_SERVER" /u:probe /p:x +auth-only
want foreign-ssh && capture foreign-ssh "tcp port $SSHD" 8 xf "/v:127.0.0.1:$SSHD" /u:probe /p:x +auth-only
# ---- end lane attrib

want closed-port && capture closed-port "tcp port $CLOSED" 10 \
  xf "/v:127.0.0.1:$CLOSED" /u:probe /p:x +auth-only

if want rdpeudp-syn-dropped; then
  "$ROOT/scripts/faults.sh" add udp-drop "$UDP_PORT"
  capture rdpeudp-syn-dropped "$UDP_FILTER" 10 udp_syn "$UDP_PORT"
  "$ROOT/scripts/faults.sh" del udp-drop "$UDP_PORT"
fi
want rdpeudp-syn-port-unreachable && capture rdpeudp-syn-port-unreachable "$UDP_FILTER" 10 udp_syn "$UDP_PORT"

# Path MTU captures through scripts/netns.sh (client — router — server namespaces, a 1200-byte link inside the path,
# a lab inside the server namespace). Both ends of the connection are captured on their veth interfaces.
readonly NETNS_ID="${RDPPROBE_CAPTURE_NETNS_ID:-7}"
netns_prefix() { if ((NETNS_ID == 0)); then echo rdpp; else echo "rdpp$NETNS_ID"; fi; }
netns_server_ip() { echo "10.213.$((10 * NETNS_ID + 2)).2"; }

# netns_capture NAME_PREFIX SECONDS: xfreerdp from the client namespace to the NLA server, captured on the server's
# and the client's interface (NAME_PREFIX-server-side.pcap, NAME_PREFIX-client-side.pcap).
netns_capture() {
  local name="$1" seconds="$2" ns pids=() side dev xvfb_pid display rc=0
  ns="$(netns_prefix)"
  # A fresh path: forget the path MTU the server learnt in an earlier run.
  ip netns exec "$ns-server" ip route flush cache
  for side in server client; do
    dev="rp${NETNS_ID}${side:0:1}0"
    rm -f "$OUT/$name-$side-side.pcap"
    ip netns exec "$ns-$side" timeout $((seconds + 10)) tcpdump -i "$dev" -s 0 -U --immediate-mode -nn \
      -w "$OUT/$name-$side-side.pcap" "tcp port 3389 or icmp" 2>/dev/null &
    pids+=($!)
  done
  # xfreerdp wants an X display even for +auth-only; abstract X sockets are per namespace, so give the client
  # namespace its own Xvfb.
  ip netns exec "$ns-client" setsid Xvfb -displayfd 3 -noreset -nolisten tcp -nolisten unix -screen 0 640x480x24 \
    3>"$OUT/.xvfb-display" </dev/null >/dev/null 2>&1 &
  xvfb_pid=$!
  for ((i = 0; i < 50; i++)); do
    display="$(tr -dc '0-9' 2>/dev/null <"$OUT/.xvfb-display" || true)"
    [[ -n "$display" ]] && break
    sleep 0.1
  done
  sleep 1
  ip netns exec "$ns-client" env DISPLAY=":$display" timeout "$seconds" xfreerdp /cert:ignore "/v:$(netns_server_ip):3389" \
    /u:probe /d:LAB '/p:Passw0rd!' +auth-only >"$OUT/.$name.client.log" 2>&1 </dev/null || rc=$?
  sleep 1.5
  kill -INT "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  kill "$xvfb_pid" 2>/dev/null || true
  rm -f "$OUT/.xvfb-display"
  for side in server client; do
    printf '%-24s client exit %-3s %s packets\n' "$name-$side-side" "$rc" "$(tcpdump -nn -r "$OUT/$name-$side-side.pcap" 2>/dev/null | wc -l)"
  done
  grep -E 'exit status|ERRCONNECT' "$OUT/.$name.client.log" | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] /    /' | sort -u | head -4 || true
  rm -f "$OUT/.$name.client.log"
}

if want pmtud-frag-needed || want pmtud-blackhole; then
  [[ -x "$ROOT/scripts/netns.sh" ]] || die "scripts/netns.sh is missing (needed for the path MTU captures)"
  # The lab inside the server namespace uses the same base as the one above (NLA on 3389 there too), so it needs
  # its own state directory.
  netns() {
    RDPPROBE_LAB_STATE="$ROOT/.lab/netns$NETNS_ID-$BASE" "$ROOT/scripts/netns.sh" "$@"
  }
  netns_cleanup() {
    netns down --id "$NETNS_ID" >/dev/null 2>&1 || true
    cleanup
  }
  trap netns_cleanup EXIT
  netns up --id "$NETNS_ID" --mtu 1200 --icmp allow >/dev/null
  netns lab start --id "$NETNS_ID" --base "$BASE" >/dev/null
  # One TCP segment per packet on the server's interface: with GSO the capture would show the kernel's merged
  # super-packets (a "1312-byte retransmission") instead of the segments that really cross the 1200-byte link.
  ip netns exec "$(netns_prefix)-server" ip link set dev "rp${NETNS_ID}s0" gso_max_segs 1
  if want pmtud-frag-needed; then
    netns_capture pmtud-frag-needed 10
  fi
  if want pmtud-blackhole; then
    netns set --id "$NETNS_ID" --mtu 1200 --icmp block >/dev/null
    netns_capture pmtud-blackhole 10
  fi
  netns down --id "$NETNS_ID" >/dev/null
fi

echo "captures in $OUT"
