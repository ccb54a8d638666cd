using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace RdpProbe.Benchmarks.Codecs;

/// <summary>
/// A short job that finishes in minutes on 2 shared cores: one launch, in process (no generated project to build),
/// 3 warm-up and 8 measured iterations. Allocations are reported per operation (MemoryDiagnoser). Encoders return the
/// encoded array, not its length: .NET 10 stack-allocates an array that does not escape and folds its constant length,
/// which would time nothing.
/// </summary>
public sealed class CodecConfig : ManualConfig
{
    public CodecConfig()
    {
        AddJob(Job.ShortRun
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId("codec-short"));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory);
        WithOptions(ConfigOptions.JoinSummary);
    }
}
