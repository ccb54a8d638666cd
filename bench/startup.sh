#!/usr/bin/env bash
# Start-up and whole-probe time of the Native AOT binary against the JIT build, measured in one hyperfine run each.
#   bench/startup.sh [HOST:PORT]     (default 127.0.0.1:13389, the lab's xrdp: scripts/lab.sh start)
# AOT binary: out/publish/linux-x64/rdpprobe (scripts/publish.sh linux-x64), or RDPPROBE_AOT_BIN.
# JIT build: the Release framework-dependent build (dotnet build -c Release), run through its apphost.
# Writes out/bench/startup-<time>/{version,probe}.md (hyperfine markdown) and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:-127.0.0.1:13389}
aot=${RDPPROBE_AOT_BIN:-out/publish/linux-x64/rdpprobe}
jit=src/RdpProbe.Cli/bin/Release/net10.0/rdpprobe
runs=${RUNS:-20}

[[ -x $aot ]] || scripts/publish.sh linux-x64
dotnet build src/RdpProbe.Cli -c Release -v q --nologo </dev/null >/dev/null

out=out/bench/startup-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
# The probe without the extra connections (matrix, TLS versions, encryption levels): one connection sequence.
probe="$target --json --no-matrix --no-tls-versions --no-encryption-levels"
hyperfine -N --warmup 2 --runs "$runs" -n aot "$aot --version" -n jit "$jit --version" --export-markdown "$out/version.md"
hyperfine -N --warmup 1 --runs "$runs" -n aot "$aot $probe" -n jit "$jit $probe" --export-markdown "$out/probe.md"
echo "== --version"; cat "$out/version.md"
echo "== probe $target"; cat "$out/probe.md"
