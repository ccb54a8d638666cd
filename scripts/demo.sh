#!/usr/bin/env bash
# The newcomer's first command: build rdpprobe, start the lab's real RDP servers on 127.0.0.1, probe them,
# and analyse the bundled captures of failed connections. Needs root (xrdp, Xvfb) and the .NET 10 SDK; it installs
# the Debian packages it needs (scripts/install-deps.sh: xrdp, freerdp2-shadow-x11, xvfb, libpcap0.8, ...) when missing.
#
#   scripts/demo.sh            probe xrdp and the NLA server (with its lab password), analyse captures/lab
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base="${RDPPROBE_LAB_BASE:-13389}"
out="$root/out/rdpprobe"

scripts/install-deps.sh
echo "== building rdpprobe (Release) into out/rdpprobe"
dotnet build -c Release -v quiet -nologo src/RdpProbe.Cli -o "$out" >/dev/null
rp="$out/rdpprobe"

echo "== starting the lab servers (scripts/lab.sh start --base $base)"
scripts/lab.sh start --base "$base"

run() {
  echo
  echo "\$ $*"
  "$@" || echo "(exit code $?)"
}

# xrdp: TLS, no NLA; the probe goes on to Demand Active without credentials.
run "$rp" "127.0.0.1:$base" --no-tls-versions
# FreeRDP shadow server with NLA: first without credentials (stops after the NTLM challenge), then with them.
run "$rp" "127.0.0.1:$((base + 1))" --no-tls-versions
RDPPROBE_PASSWORD='Passw0rd!' run "$rp" "127.0.0.1:$((base + 1))" --user 'LAB\probe' --no-matrix --no-tls-versions
RDPPROBE_PASSWORD='wrong-password' run "$rp" "127.0.0.1:$((base + 1))" --user 'LAB\probe' --no-matrix --no-tls-versions
# Nothing listens on base+9.
run "$rp" "127.0.0.1:$((base + 9))"

# Offline: captures of real failures made from the same servers with xfreerdp (captures/README.md).
run "$rp" analyze captures/lab/nla-bad-password.pcap captures/lab/nla-server-tls-client.pcap \
  captures/lab/reset-at-clienthello.pcap captures/lab/mtu-blackhole.pcap captures/lab/rdpeudp-syn-dropped.pcap \
  --port 3388 --port 3390 --port 3391 --no-progress

echo
echo "The lab keeps running; stop it with: scripts/lab.sh stop --base $base"
