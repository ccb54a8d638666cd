#!/usr/bin/env bash
# Shared by the latency scenarios (direct.sh, delay.sh, vpn.sh): build, then measure RdpProbe and its peers side by
# side against the same servers in the same run. Sourced, not run.
#
# Environment: RUNS (bench runs per target, default 20), PEER_RUNS (hyperfine runs per command, default 10),
# RDPPROBE_BIN (default: the Release build), OUT (results folder, default bench/latency/results/<scenario>-<time>).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAT="$ROOT/bench/latency"
RUNS="${RUNS:-20}"
PEER_RUNS="${PEER_RUNS:-10}"
LAB_USER='LAB\probe'
LAB_USER_Q="'LAB\\probe'"  # single-quoted for command strings (bash -c, hyperfine): the backslash survives
LAB_PASSWORD='Passw0rd!'        # the lab's public test account (scripts/lab.sh), not a secret
BIN="${RDPPROBE_BIN:-$ROOT/src/RdpProbe.Cli/bin/Release/net10.0/rdpprobe}"
# Optional second build timed alongside (Native AOT: the same probe without JIT start-up), e.g. /tmp/rdpprobe-aot/rdpprobe.
AOT_BIN="${RDPPROBE_AOT_BIN:-}"
XVFB_PID=""

die() { echo "latency: $*" >&2; exit 2; }

need() { for c in "$@"; do command -v "$c" >/dev/null || die "needs $c (apt-get install it; see bench/README.md)"; done; }

build() {
    if [[ -z "${RDPPROBE_BIN:-}" ]]; then
        dotnet build "$ROOT/src/RdpProbe.Cli/RdpProbe.Cli.csproj" -c Release -v q -nologo >/dev/null || die "build failed"
    fi
    [[ -x "$BIN" ]] || die "no rdpprobe at $BIN"
}

# xfreerdp wants an X display even for +auth-only: a private Xvfb, stopped by stop_xvfb (by its pid).
start_xvfb() {
    local d="${1:-87}"
    Xvfb ":$d" -screen 0 640x480x24 -nolisten tcp >/dev/null 2>&1 &
    XVFB_PID=$!
    export DISPLAY=":$d"
    for _ in $(seq 1 50); do [[ -e "/tmp/.X11-unix/X$d" ]] && return 0; sleep 0.1; done
    die "Xvfb :$d did not start"
}

stop_xvfb() { [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true; XVFB_PID=""; }

# run_side_by_side SCENARIO HOST BASE [NETNS] [NMAP_PORT]
#   HOST:BASE is xrdp, HOST:BASE+1 the FreeRDP shadow server with NLA (the lab's layout). With NETNS, every client
#   command runs inside that namespace. Writes JSON, captures and summary.md to $OUT.
run_side_by_side() {
    local scenario="$1" host="$2" base="$3" ns="${4:-}"
    local nla=$((base + 1)) xrdp="$base"
    # nmap's rdp scripts only run on a port nmap believes is RDP: 3389, or a port -sV recognised as RDP. -sV spends
    # ~87 s here and does not recognise the FreeRDP shadow server (so the scripts then do not run at all). In the
    # namespaces 3389 is DNATed to the same NLA server (nat_3389); on the shared loopback the scripts are forced with
    # nmap's "+" prefix instead. NMAP_SV=1 adds -sV anyway (what nmap's documentation suggests for other ports).
    local nmap_port="${5:-$nla}" nmap_sv="" nmap_scripts="rdp-enum-encryption,rdp-ntlm-info"
    [[ "$nmap_port" != 3389 ]] && nmap_scripts="+rdp-enum-encryption,+rdp-ntlm-info"
    [[ "${NMAP_SV:-0}" == 1 ]] && nmap_sv="-sV"
    local nsx=()
    [[ -n "$ns" ]] && nsx=(ip netns exec "$ns")
    OUT="${OUT:-$LAT/results/$scenario-$(date -u +%Y%m%dT%H%M%SZ)}"
    mkdir -p "$OUT"
    echo "== $scenario: results in $OUT"

    # 1. rdpprobe bench: per phase, same runs, JSON + human.
    "${nsx[@]}" "$BIN" bench "$host:$nla" -n "$RUNS" --json >"$OUT/bench-shadow-nla.json" || true
    "${nsx[@]}" env RDPPROBE_PASSWORD="$LAB_PASSWORD" "$BIN" bench "$host:$nla" -n "$RUNS" --user "$LAB_USER" --json >"$OUT/bench-shadow-nla-auth.json" || true
    "${nsx[@]}" "$BIN" bench "$host:$xrdp" -n "$RUNS" --json >"$OUT/bench-xrdp.json" || true

    # 2. Round trips each tool costs on the wire: one run of each under tcpdump in the client's namespace.
    local iface=lo
    [[ -n "$ns" ]] && iface=any
    declare -A cmds=(
        [rdpprobe-ntlm]="$BIN $host:$nla --no-matrix --no-tls-versions --json"
        [rdpprobe-auth]="env RDPPROBE_PASSWORD=$LAB_PASSWORD $BIN $host:$nla --no-matrix --no-tls-versions --handshake-only --user $LAB_USER_Q --json"
        [rdpprobe-session]="env RDPPROBE_PASSWORD=$LAB_PASSWORD $BIN $host:$nla --no-matrix --no-tls-versions --user $LAB_USER_Q --json"
        [xfreerdp-auth]="xfreerdp /v:$host:$nla /u:probe /d:LAB /p:$LAB_PASSWORD /cert:ignore +auth-only"
        [rdpprobe-full]="$BIN $host:$nla --json"
        [nmap-scripts]="nmap -Pn -n -p $nmap_port --script $nmap_scripts $nmap_sv $host"
    )
    : >"$OUT/turns.txt"
    for name in rdpprobe-ntlm rdpprobe-auth rdpprobe-session xfreerdp-auth rdpprobe-full nmap-scripts; do
        local pcap="$OUT/$name.pcap"
        local port="$nla"
        [[ "$name" == nmap-scripts ]] && port="$nmap_port"
        "${nsx[@]}" tcpdump -i "$iface" -s 200 -U -w "$pcap" "tcp port $port" >/dev/null 2>&1 &
        local dump=$!
        sleep 1
        # shellcheck disable=SC2086
        "${nsx[@]}" bash -c "${cmds[$name]}" >"$OUT/$name.out" 2>&1 || echo "(exit $?)" >>"$OUT/$name.out"
        sleep 0.5
        kill "$dump" 2>/dev/null || true
        wait "$dump" 2>/dev/null || true
        echo "$name $("$LAT/turns.sh" "$pcap" "$port")" | tee -a "$OUT/turns.txt"
    done

    # 3. Whole-process wall time, same depth side by side (hyperfine, no shell, warm-up run first).
    local aot_auth=() aot_full=()
    if [[ -n "$AOT_BIN" ]]; then
        aot_auth=(-n rdpprobe-aot-auth "${nsx[*]} env RDPPROBE_PASSWORD=$LAB_PASSWORD $AOT_BIN $host:$nla --no-matrix --no-tls-versions --handshake-only --user $LAB_USER_Q --json"
                  -n rdpprobe-aot-session "${nsx[*]} env RDPPROBE_PASSWORD=$LAB_PASSWORD $AOT_BIN $host:$nla --no-matrix --no-tls-versions --user $LAB_USER_Q --json")
        aot_full=(-n rdpprobe-aot-full "${nsx[*]} $AOT_BIN $host:$nla --json")
    fi
    hyperfine -N -i --warmup 1 --runs "$PEER_RUNS" --export-json "$OUT/hyperfine-auth.json" --export-markdown "$OUT/hyperfine-auth.md" \
        -n rdpprobe-auth "${nsx[*]} env RDPPROBE_PASSWORD=$LAB_PASSWORD $BIN $host:$nla --no-matrix --no-tls-versions --handshake-only --user $LAB_USER_Q --json" \
        -n rdpprobe-session "${nsx[*]} env RDPPROBE_PASSWORD=$LAB_PASSWORD $BIN $host:$nla --no-matrix --no-tls-versions --user $LAB_USER_Q --json" \
        "${aot_auth[@]}" \
        -n xfreerdp-auth "${nsx[*]} xfreerdp /v:$host:$nla /u:probe /d:LAB /p:$LAB_PASSWORD /cert:ignore +auth-only" \
        -n rdpprobe-ntlm "${nsx[*]} $BIN $host:$nla --no-matrix --no-tls-versions --json" \
        >"$OUT/hyperfine-auth.txt" 2>&1 || echo "hyperfine (auth) failed: see $OUT/hyperfine-auth.txt"
    hyperfine -N -i --warmup 1 --runs "$PEER_RUNS" --export-json "$OUT/hyperfine-full.json" --export-markdown "$OUT/hyperfine-full.md" \
        -n rdpprobe-full "${nsx[*]} $BIN $host:$nla --json" \
        "${aot_full[@]}" \
        -n nmap-scripts "${nsx[*]} nmap -Pn -n -p $nmap_port --script $nmap_scripts $nmap_sv $host" \
        >"$OUT/hyperfine-full.txt" 2>&1 || echo "hyperfine (full) failed: see $OUT/hyperfine-full.txt"

    "$LAT/summary.sh" "$OUT" "$scenario" >"$OUT/summary.md"
    cat "$OUT/summary.md"
}

# nat_3389 NETNS PORT: inside the server namespace, TCP 3389 goes to the lab server on PORT (its loopback).
nat_3389() {
    ip netns exec "$1" iptables -w -t nat -A PREROUTING ! -i lo -p tcp --dport 3389 -j DNAT --to-destination "127.0.0.1:$2"
}
