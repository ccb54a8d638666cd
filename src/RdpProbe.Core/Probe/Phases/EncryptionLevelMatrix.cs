using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>How a standard-security server answered a Connect Initial offering exactly one encryption method.</summary>
public enum EncryptionSupport
{
    /// <summary>The server chose the offered method.</summary>
    Accepted,

    /// <summary>The server refused: closed, disconnected, MCS error, or chose something else.</summary>
    Refused,

    /// <summary>The server accepted the connection but encrypts nothing (method and level none).</summary>
    NoEncryption,

    /// <summary>The attempt failed before the server could answer (connect or X.224 failed, timeout).</summary>
    Error,
}

public sealed record EncryptionLevelEntry(
    EncryptionMethods Method,
    EncryptionSupport Support,
    EncryptionMethods? ServerMethod,
    EncryptionLevel? ServerLevel,
    string Detail)
{
    public string MethodName => Gcc.MethodName(Method);
}

public sealed record EncryptionMatrixResult(IReadOnlyList<EncryptionLevelEntry> Entries)
{
    public IEnumerable<EncryptionMethods> Accepted => Entries.Where(e => e.Support == EncryptionSupport.Accepted).Select(e => e.Method);

    /// <summary>The level the server reported in any answer (it does not depend on the method offered).</summary>
    public EncryptionLevel? ServerLevel => Entries.FirstOrDefault(e => e.ServerLevel is not null)?.ServerLevel;
}

/// <summary>
/// The encryption_levels check (like rdp-sec-check): which of 40-bit, 56-bit, 128-bit and FIPS a server with standard
/// RDP security accepts, one connection per method, each offering that method alone in CS_SECURITY
/// (MS-RDPBCGR 2.2.1.3.3) and reading the method the server chose in SC_SECURITY (2.2.1.4.3).
/// </summary>
internal static class EncryptionLevelMatrix
{
    public static IReadOnlyList<EncryptionMethods> Methods { get; } = [EncryptionMethods.Bit40, EncryptionMethods.Bit56, EncryptionMethods.Bit128, EncryptionMethods.Fips];

    /// <param name="connectStandardSecurity">
    /// Opens a new connection, runs X.224 requesting PROTOCOL_RDP and returns the raw stream once the server selected
    /// it; throws when that fails. The matrix disposes each stream.
    /// </param>
    internal static async Task<EncryptionMatrixResult> RunAsync(Func<CancellationToken, Task<Stream>> connectStandardSecurity, PhaseRecord record, CancellationToken ct)
    {
        var entries = new List<EncryptionLevelEntry>();
        foreach (var method in Methods)
        {
            if (ct.IsCancellationRequested)
            {
                entries.Add(new EncryptionLevelEntry(method, EncryptionSupport.Error, null, null, "not tried: out of time"));
                continue;
            }

            entries.Add(await TryMethodAsync(connectStandardSecurity, method, record, ct).ConfigureAwait(false));
        }

        var result = new EncryptionMatrixResult(entries);
        if (entries.All(e => e.Support == EncryptionSupport.Error))
        {
            record.Fail(Ending.Closed, null, "no attempt got an answer: " + entries[0].Detail);
        }
        else
        {
            string accepted = string.Join(", ", result.Accepted.Select(Gcc.MethodName));
            record.Detail = entries.Any(e => e.Support == EncryptionSupport.NoEncryption)
                ? "the server uses no RDP encryption (method and level none) whatever the client offers"
                : $"accepted: {(accepted.Length > 0 ? accepted : "none")}; " +
                  string.Join(", ", entries.Where(e => e.Support != EncryptionSupport.Accepted).Select(e => $"{e.MethodName} {e.Support.ToString().ToLowerInvariant()}")) +
                  (result.ServerLevel is { } level ? $"; server level {Gcc.LevelName(level)}" : "");
        }

        return result;
    }

    private static async Task<EncryptionLevelEntry> TryMethodAsync(Func<CancellationToken, Task<Stream>> connect, EncryptionMethods method, PhaseRecord record, CancellationToken ct)
    {
        string name = Gcc.MethodName(method);
        Stream stream;
        try
        {
            stream = await connect(ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var ending = TransportErrors.Classify(ex, "connecting")?.Ending ?? Ending.ProtocolViolation;
            return new EncryptionLevelEntry(method, EncryptionSupport.Error, null, null, $"connection for {name} failed ({ending.ToReportName()}, {ex.GetType().Name})");
        }

        await using (stream.ConfigureAwait(false))
        {
            var attempt = new PhaseRecord(Phase.Mcs);
            var session = new RdpSession(stream, SecurityProtocols.Rdp, SecurityProtocols.Rdp);
            var mcs = await McsPhase.RunAsync(session, new McsOptions(EncryptionMethods: method), attempt, ct).ConfigureAwait(false);
            foreach (var m in attempt.Messages)
            {
                record.Messages.Add(m with { Description = $"[{name}] {m.Description}" });
            }

            var security = mcs.Server?.Security;
            if (attempt.Status == PhaseStatus.Ok && security is not null)
            {
                if (security.Method == method)
                {
                    return new EncryptionLevelEntry(method, EncryptionSupport.Accepted, security.Method, security.Level, $"{name} accepted (level {Gcc.LevelName(security.Level)})");
                }

                if (security.Method == EncryptionMethods.None)
                {
                    return new EncryptionLevelEntry(method, EncryptionSupport.NoEncryption, security.Method, security.Level, "the server chose no encryption");
                }

                return new EncryptionLevelEntry(method, EncryptionSupport.Refused, security.Method, security.Level, $"the server chose {Gcc.MethodName(security.Method)} instead");
            }

            return attempt.Ending is Ending.Closed or Ending.Reset or Ending.NegotiationFailure or Ending.ServerErrorInfo
                ? new EncryptionLevelEntry(method, EncryptionSupport.Refused, null, null, attempt.Detail ?? attempt.Ending.ToReportName())
                : new EncryptionLevelEntry(method, EncryptionSupport.Error, null, null, attempt.Detail ?? attempt.Ending.ToReportName());
        }
    }
}
