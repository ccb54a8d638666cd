#!/usr/bin/env bash
# Fuzz campaigns with AFL++ and SharpFuzz (docs/FUZZING.md).
#
#   scripts/fuzz.sh TARGET SECONDS   one campaign on one target; fails (exit 1) when it found a crash or a hang
#   scripts/fuzz.sh ci [SECONDS]     every target for SECONDS each (default 15): the short run .ci/run does
#   scripts/fuzz.sh long [SECONDS]   every target for SECONDS each (default 3600), resuming earlier findings
#   scripts/fuzz.sh replay TARGET FILE...   run inputs through a target without AFL (e.g. a crash file)
#   scripts/fuzz.sh minimize TARGET  afl-cmin the target's findings and seeds back into fuzz/corpus/TARGET
#   scripts/fuzz.sh seeds            regenerate the generated seed inputs (fuzz/corpus/*/seed-*)
#
# Targets: x224 tls credssp mcs security share udp capture probe explain.
# Findings go to fuzz/findings/TARGET (not checked in); crash inputs are listed at the end of the campaign.
# FUZZ_REUSE_BUILD=1 skips the build and instrumentation when an instrumented build is already in $FUZZ_WORK.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly TARGETS=(x224 tls credssp mcs security share udp capture probe explain)
readonly WORK="${FUZZ_WORK:-/tmp/rdpprobe-fuzz}"
readonly BIN="$WORK/bin"

log() {
  echo "[fuzz $(date -u +%H:%M:%S)] $*"
}

die() {
  echo "fuzz: $*" >&2
  exit 2
}

# Builds the fuzz driver and instruments RdpProbe.Core.dll (only it: BouncyCastle and the runtime are not ours).
build() {
  command -v afl-fuzz >/dev/null 2>&1 || die "afl-fuzz is not installed (Debian package afl++; scripts/install-deps.sh installs it)"
  if [[ ${FUZZ_REUSE_BUILD:-} == 1 && -f $BIN/RdpProbe.Fuzz.dll ]]; then
    log "reusing the instrumented build in $BIN (FUZZ_REUSE_BUILD=1)"
    return
  fi
  dotnet tool restore >/dev/null
  log "building fuzz/RdpProbe.Fuzz into $BIN"
  rm -rf "$BIN"
  dotnet build fuzz/RdpProbe.Fuzz -c Release -v q -nologo -o "$BIN" </dev/null >"$WORK.build.log" 2>&1 || { cat "$WORK.build.log" >&2; die "build failed"; }
  dotnet sharpfuzz "$BIN/RdpProbe.Core.dll" </dev/null >/dev/null
}

afl_env() {
  # dotnet itself is not instrumented (SharpFuzz instruments the assembly), and CI has no core_pattern to tune.
  export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
}

# One campaign. $1 target, $2 seconds, $3 "resume" to continue earlier findings.
campaign() {
  local target=$1 seconds=$2 resume=${3:-}
  local corpus="fuzz/corpus/$target" out="fuzz/findings/$target"
  [[ -d $corpus ]] || die "no corpus for target '$target' (fuzz/corpus/$target)"
  mkdir -p "$out"
  local input="$corpus"
  if [[ $resume == resume && -d $out/default/queue ]]; then
    input=-
  else
    rm -rf "${out:?}/default"
  fi

  # The probe target talks to a loopback peer and waits for the probe's verdict: allow it more time per input.
  local timeout=2000
  [[ $target == probe ]] && timeout=10000
  afl_env
  log "$target: afl-fuzz for ${seconds}s (corpus $corpus)"
  afl-fuzz -i "$input" -o "$out" -t "$timeout" -m none -V "$seconds" -- dotnet "$BIN/RdpProbe.Fuzz.dll" "$target" \
    </dev/null >"$out/afl.log" 2>&1 || { tail -30 "$out/afl.log" >&2; die "afl-fuzz failed on $target (log: $out/afl.log)"; }

  local stats="$out/default/fuzzer_stats"
  local execs rate crashes hangs paths
  execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
  rate=$(awk -F' *: *' '$1=="execs_per_sec"{print $2}' "$stats")
  crashes=$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")
  hangs=$(awk -F' *: *' '$1=="saved_hangs"{print $2}' "$stats")
  paths=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$stats")
  log "$target: $execs execs ($rate/s), corpus $paths, crashes $crashes, hangs $hangs"
  echo "$target $seconds $execs $rate $paths $crashes $hangs" >>"$WORK/summary.txt"
  if [[ $crashes != 0 ]]; then
    echo "fuzz: $target crashed; inputs (replay with: scripts/fuzz.sh replay $target FILE):" >&2
    find "$out/default/crashes" -type f -name 'id:*' >&2
    return 1
  fi

  return 0
}

mkdir -p "$WORK"
case "${1:-}" in
  ci | long)
    mode=$1
    seconds=${2:-$([[ $mode == ci ]] && echo 15 || echo 3600)}
    build
    : >"$WORK/summary.txt"
    failed=0
    for target in "${TARGETS[@]}"; do
      campaign "$target" "$seconds" "$([[ $mode == long ]] && echo resume)" || failed=1
    done
    log "summary (target seconds execs execs/s corpus crashes hangs):"
    cat "$WORK/summary.txt"
    exit "$failed"
    ;;
  replay)
    [[ $# -ge 3 ]] || die "usage: scripts/fuzz.sh replay TARGET FILE..."
    dotnet build fuzz/RdpProbe.Fuzz -c Release -v q -nologo -o "$WORK/replay" </dev/null >/dev/null
    exec dotnet "$WORK/replay/RdpProbe.Fuzz.dll" "${@:2}"
    ;;
  minimize)
    [[ $# -eq 2 ]] || die "usage: scripts/fuzz.sh minimize TARGET"
    target=$2
    build
    afl_env
    # afl-cmin refuses to work under /tmp: its scratch directories live with the findings.
    all="fuzz/findings/cmin-in-$target"
    out="fuzz/findings/cmin-out-$target"
    rm -rf "$all" "$out"
    mkdir -p "$all"
    cp fuzz/corpus/"$target"/* "$all"/
    [[ -d fuzz/findings/$target/default/queue ]] && find "fuzz/findings/$target/default/queue" -maxdepth 1 -type f -name 'id:*' -exec cp {} "$all"/ \;
    timeout=2000
    [[ $target == probe ]] && timeout=10000
    afl-cmin -i "$all" -o "$out" -t "$timeout" -m none -- "$(command -v dotnet)" "$BIN/RdpProbe.Fuzz.dll" "$target" </dev/null
    # Generated seeds stay under their names; the kept findings replace the previous ones.
    find "fuzz/corpus/$target" -maxdepth 1 -type f ! -name 'seed-*' ! -name '*.pcap' ! -name '*.pcapng' -delete
    for f in "$out"/*; do
      name=$(basename "$f")
      [[ -e fuzz/corpus/$target/$name ]] && continue
      cp "$f" "fuzz/corpus/$target/min-$(sha1sum "$f" | cut -c1-12)"
    done
    log "fuzz/corpus/$target: $(find "fuzz/corpus/$target" -type f | wc -l) files, $(du -sh "fuzz/corpus/$target" | cut -f1)"
    ;;
  seeds)
    dotnet build fuzz/RdpProbe.Fuzz -c Release -v q -nologo -o "$WORK/replay" </dev/null >/dev/null
    dotnet "$WORK/replay/RdpProbe.Fuzz.dll" --seeds fuzz/corpus
    ;;
  "" | -h | --help)
    sed -n '2,12p' "$0"
    ;;
  *)
    [[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || die "usage: scripts/fuzz.sh TARGET SECONDS (targets: ${TARGETS[*]})"
    [[ " ${TARGETS[*]} " == *" $1 "* ]] || die "unknown target '$1' (targets: ${TARGETS[*]})"
    build
    : >"$WORK/summary.txt"
    campaign "$1" "$2"
    ;;
esac
