#!/usr/bin/env bash
# Codec micro-benchmarks (BenchmarkDotNet, bench/RdpProbe.Benchmarks/Codecs): X.224, TLS record walk, TSRequest/NTLM
# (and MCS/GCC once those codecs exist). One short in-process job per benchmark; a few minutes on 2 cores.
#   bench/run-codecs.sh [extra BenchmarkDotNet arguments]
# Results: BenchmarkDotNet.Artifacts/results/*-report-github.md under bench/ (the path is printed at the end).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/bench"
dotnet run -c Release --project "$root/bench/RdpProbe.Benchmarks/RdpProbe.Benchmarks.csproj" -- \
    --filter 'RdpProbe.Benchmarks.Codecs.*' --join "$@"
