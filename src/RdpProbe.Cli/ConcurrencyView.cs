using RdpProbe.Probe;
using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>--concurrency-test N: one line of counts and the verdict, or the rdpprobe.concurrency/2 document.</summary>
internal static class ConcurrencyView
{
    public static async Task<int> RunAsync(ProbeTarget target, int connections, TimeSpan resolveTimeout, bool json, CliIo io, CancellationToken ct)
    {
        var run = await ConcurrencyRunner.RunAsync(target, connections, resolveTimeout, cancellationToken: ct).ConfigureAwait(false);
        if (run.Result is not { } result)
        {
            io.Error.WriteLine($"rdpprobe: {run.DnsFailure?.Detail ?? $"{target.Host} does not resolve"}");
            return ExitCodes.Dns;
        }

        if (json)
        {
            await io.Out.WriteLineAsync(run.ToJson()).ConfigureAwait(false);
        }
        else
        {
            io.Console.WriteLine($"{target}: {result.Accepted} accepted, {result.Refused} refused, {result.Dropped} dropped, {result.Stalled} stalled, {result.NotTried} not tried; {result.OpenAtEnd} still open at the end");
            io.Console.WriteLine(result.Verdict);
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        return run.Failed ? ExitCodes.PathCheck : ExitCodes.Ok;
    }
}
