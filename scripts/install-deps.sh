#!/usr/bin/env bash
# Installs the Debian packages RdpProbe's lab, tests, demo and benchmarks need, when any is missing (root).
# Used by .ci/run and scripts/demo.sh; safe to run again (it only installs what is not there).
set -euo pipefail

log() {
  echo "[deps $(date -u +%H:%M:%S)] $*"
}

readonly PACKAGES=(xrdp freerdp2-shadow-x11 freerdp2-x11 xvfb tshark tcpdump libpcap0.8 iptables iproute2 nmap
  wireguard-go wireguard-tools hyperfine jq ethtool openssl faketime prometheus afl++
  wine64 clang zlib1g-dev lld gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  # The HTML report tests (tests/RdpProbe.IntegrationTests/Html) load the pages in a real headless browser.
  chromium
  # The lab's foreign services on the RDP port (scripts/lab.sh base+11..13): python's http.server and sshd.
  python3 openssh-server

  # The lab KDC (scripts/kdc.sh) and kinit/kvno for hand checks; dnsmasq answers the DNS SRV discovery tests.
  krb5-kdc krb5-admin-server krb5-user dnsmasq-base)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  apt-get update </dev/null
  # Without noninteractive the tshark package stops to ask whether non-root users may capture.
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}" </dev/null
else
  log "all packages already installed"
fi
