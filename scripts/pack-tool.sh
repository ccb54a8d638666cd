#!/usr/bin/env bash
# The .NET tool as users should get it (.NET SDK 10 RID-specific tool packages):
#   RdpProbe.<v>.nupkg            the package `dotnet tool install RdpProbe` asks for: it names the two below
#   RdpProbe.linux-x64.<v>.nupkg  the Native AOT executable (what linux-x64 users get: the release binary's speed and
#                                 memory, no JIT; bench/RESULTS-analyzer.md)
#   RdpProbe.any.<v>.nupkg        framework-dependent, for every other platform with the .NET 10 runtime
# A plain `dotnet pack src/RdpProbe.Cli` still makes the single framework-dependent package it always made.
#   scripts/pack-tool.sh [OUT_DIR] [extra dotnet pack arguments, e.g. -p:Version=1.2.3]
# Install from the directory: dotnet tool install -g --add-source OUT_DIR RdpProbe
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-out/package}"
shift || true
PROJECT=src/RdpProbe.Cli/RdpProbe.Cli.csproj
# The RID list is in the project (RdpProbe.Cli.csproj), switched on by this property.
RIDS=-p:RidSpecificTool=true
log() { printf '[pack-tool %(%H:%M:%S)T] %s\n' -1 "$*"; }

mkdir -p "$OUT"
log "the top-level package (names the RID packages)"
dotnet pack "$PROJECT" -c Release -o "$OUT" --nologo -v q "$RIDS" -p:PublishAot=true "$@" </dev/null
log "any: framework-dependent"
dotnet pack "$PROJECT" -c Release -o "$OUT" --nologo -v q "$RIDS" -r any "$@" </dev/null
log "linux-x64: Native AOT (symbols left out of the package)"
dotnet pack "$PROJECT" -c Release -o "$OUT" --nologo -v q "$RIDS" -r linux-x64 -p:PublishAot=true \
  -p:CopyOutputSymbolsToPublishDirectory=false "$@" </dev/null
ls -la "$OUT"/*.nupkg
