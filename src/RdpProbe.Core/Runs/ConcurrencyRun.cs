using System.Net;
using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Probe.NetPath;
using RdpProbe.Reports;
using RdpProbe.Runs.Json;

namespace RdpProbe.Runs;

/// <summary>The result of --concurrency-test N: the test's result, or the dns phase when the name did not resolve.</summary>
public sealed record ConcurrencyRun(ProbeTarget Target, IPAddress? Address, ConcurrencyTestResult? Result, PhaseRecord? DnsFailure)
{
    /// <summary>True when the server refused, dropped or stalled a connection (or the name did not resolve).</summary>
    public bool Failed => Result?.FirstFailure is not null || DnsFailure is not null;

    public ConcurrencyDocument? ToDocument() => Result is not { } r ? null : new(
        ConcurrencyDocument.SchemaName,
        ToolInfo.Current,
        Target.ToString(),
        Address!.ToString(),
        r.Requested,
        r.Accepted,
        r.Refused,
        r.Dropped,
        r.Stalled,
        r.NotTried,
        r.OpenAtEnd,
        r.FirstFailure,
        r.Verdict);

    public string? ToJson() => ToDocument() is { } document ? JsonSerializer.Serialize(document, RunsJsonContext.Indented.ConcurrencyDocument) : null;
}

/// <summary>--concurrency-test N against the first address of the name (the test loads one server).</summary>
public static class ConcurrencyRunner
{
    public static async Task<ConcurrencyRun> RunAsync(ProbeTarget target, int connections, TimeSpan resolveTimeout, ConcurrencyTestOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var resolution = await TargetResolution.ResolveAsync(target, resolveTimeout, null, cancellationToken).ConfigureAwait(false);
        if (!resolution.Ok)
        {
            return new ConcurrencyRun(target, null, null, resolution.Dns);
        }

        var address = resolution.Addresses[0];
        var result = await ConcurrencyTest.RunAsync(new IPEndPoint(address, target.Port), connections, options, cancellationToken).ConfigureAwait(false);
        return new ConcurrencyRun(target, address, result, null);
    }
}
