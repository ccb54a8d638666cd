#!/usr/bin/env bash
# Installs the Debian packages RdpProbe's lab, tests, demo and benchmarks need, when any is missing (root).
# Used by .ci/run and scripts/demo.sh; safe to run again (it only installs what is not there).
set -euo pipefail

log() {
  echo "[deps $(date -u +%H:%M:%S)] $*"
}

readonly PACKAGES=(xrdp freerdp2-shadow-x11 freerdp2-x11 xvfb tshark tcpdump libpcap0.8 iptables iproute2 nmap
  wireguard-go wireguard-tools hyperfine jq ethtool openssl faketime prometheus afl++
  # The HTML report tests (tests/RdpProbe.IntegrationTests/Html) load the pages in a real headless browser.
  chromium)

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
