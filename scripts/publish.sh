#!/usr/bin/env bash
# Builds the release binaries of rdpprobe into out/publish/<rid>/ and writes out/publish/SHA256SUMS.
#   linux-x64    Native AOT, one executable, no .NET runtime needed (start-up in milliseconds)
#   linux-arm64  Native AOT cross-compiled with clang + lld against the Debian arm64 cross sysroot
#                (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross); skipped with the reason when that is missing
#   win-x64      self-contained single file (Native AOT cannot cross-compile to Windows from Linux);
#                IncludeAllContentForSelfExtract so the runtime is extracted once and runs under Wine as well
#   osx-arm64    self-contained single file (same reason: AOT for macOS needs the Apple linker)
# Usage: scripts/publish.sh [RID...]   (default: all four)
# Needs the .NET 10 SDK; Native AOT also needs clang (and zlib1g-dev for the linker), see scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly PROJECT=src/RdpProbe.Cli/RdpProbe.Cli.csproj
readonly OUT=out/publish
readonly ARM64_SYSROOT=/usr/aarch64-linux-gnu

log() {
  echo "[publish $(date -u +%H:%M:%S)] $*"
}

# dotnet publish into a scratch directory; only the executable is copied to out/publish/<rid>/ (symbols and the
# .pdb stay behind, a release binary is one file).
publish() {
  local rid=$1 exe=$2
  shift 2
  local scratch="obj/publish/$rid"
  rm -rf "$scratch" "${OUT:?}/$rid"
  mkdir -p "$OUT/$rid"
  log "$rid: dotnet publish $*"
  dotnet publish "$PROJECT" -c Release -r "$rid" -o "$scratch" --nologo -v q "$@" </dev/null || return 1
  cp "$scratch/$exe" "$OUT/$rid/$exe" || return 1
  log "$rid: $OUT/$rid/$exe ($(du -h "$OUT/$rid/$exe" | cut -f1))"
}

# Why linux-arm64 cannot be built here, or nothing when it can.
arm64_missing() {
  command -v clang >/dev/null 2>&1 || { echo "clang is not installed (apt-get install clang)"; return; }
  command -v ld.lld >/dev/null 2>&1 || { echo "lld is not installed (apt-get install lld)"; return; }
  [[ -f $ARM64_SYSROOT/lib/libc.so.6 ]] || { echo "no arm64 sysroot at $ARM64_SYSROOT (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"; return; }
}

rids=("$@")
[[ ${#rids[@]} -gt 0 ]] || rids=(linux-x64 linux-arm64 win-x64 osx-arm64)

skipped=()
for rid in "${rids[@]}"; do
  case $rid in
    linux-x64)
      publish linux-x64 rdpprobe -p:PublishAot=true
      ;;
    linux-arm64)
      if reason=$(arm64_missing) && [[ -z $reason ]]; then
        # The ILCompiler drives clang as the linker with --target=aarch64-linux-gnu; lld because the host's GNU ld
        # cannot link arm64 objects. SysRoot is / and not the cross directory: Debian's cross libc.so is a linker
        # script naming /usr/aarch64-linux-gnu/lib/libc.so.6 by absolute path, which a sysroot would prefix again;
        # clang finds the cross libraries through the gcc-cross installation next to it.
        if ! publish linux-arm64 rdpprobe -p:PublishAot=true -p:SysRoot=/ -p:LinkerFlavor=lld \
          -p:ObjCopyName=aarch64-linux-gnu-objcopy; then
          log "linux-arm64: skipped: the cross link failed (see the error above)"
          skipped+=("linux-arm64: the Native AOT cross link failed")
        fi
      else
        log "linux-arm64: skipped: $reason"
        skipped+=("linux-arm64: $reason")
      fi
      ;;
    win-x64)
      publish win-x64 rdpprobe.exe --self-contained -p:PublishSingleFile=true -p:IncludeAllContentForSelfExtract=true \
        -p:DebugType=none
      ;;
    osx-arm64)
      publish osx-arm64 rdpprobe --self-contained -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
        -p:DebugType=none
      ;;
    *)
      echo "publish: unknown runtime identifier '$rid' (linux-x64, linux-arm64, win-x64, osx-arm64)" >&2
      exit 2
      ;;
  esac
done

(cd "$OUT" && find . -mindepth 2 -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum > SHA256SUMS)
log "checksums: $OUT/SHA256SUMS"
cat "$OUT/SHA256SUMS"
if [[ ${#skipped[@]} -gt 0 ]]; then
  printf 'skipped: %s\n' "${skipped[@]}"
fi
