using System.CommandLine;
using System.Globalization;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Reports;

namespace RdpProbe.Cli;

/// <summary>The default verb: <c>rdpprobe HOST[:PORT] [options]</c>.</summary>
internal static class ProbeCommand
{
    public static void Configure(RootCommand root, CliIo io)
    {
        var target = new Argument<string>("target") { Description = "HOST[:PORT] (default port 3389; IPv6 as [::1]:3389)", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (schema rdpprobe.probe/1) instead of the human view" };
        var timeout = new Option<string>("--timeout") { Description = "Time limit per phase, e.g. 5s, 1500ms, 10 (seconds)", DefaultValueFactory = _ => "5s" };
        var protocols = new Option<string>("--protocols") { Description = "Security protocols to request: rdp,ssl,hybrid,hybrid_ex,rdstls,rdsaad (default ssl,hybrid,hybrid_ex)" };
        var cookie = new Option<string>("--cookie") { Description = "Send 'Cookie: mstshash=VALUE' in the Connection Request (load-balancer hint)" };
        var routingToken = new Option<string>("--routing-token") { Description = "Send this load-balancer routing token instead of a cookie" };
        var noMatrix = new Option<bool>("--no-matrix") { Description = "Skip the security-layer matrix (one connection per protocol)" };
        var noTlsVersions = new Option<bool>("--no-tls-versions") { Description = "Skip the check of which TLS versions the server accepts" };
        var noEncryptionLevels = new Option<bool>("--no-encryption-levels") { Description = "Skip the check of which RDP encryption methods (40/56/128-bit, FIPS) a standard-security server accepts" };
        var keyLog = new Option<string>("--tls-keylog") { Description = "Append the TLS secrets in NSS key log format to FILE (for Wireshark)" };
        var allAddresses = new Option<bool>("--all-addresses") { Description = "Probe every address the host name resolves to" };
        var handshakeOnly = new Option<bool>("--handshake-only") { Description = "Stop after the security handshake (tcp, x224, tls, credssp): no MCS, licensing or Demand Active" };
        var user = new Option<string>("--user") { Description = "Authenticate as DOMAIN\\user (password from RDPPROBE_PASSWORD or a prompt, never an argument)" };

        root.Arguments.Add(target);
        foreach (var option in new Option[] { json, timeout, protocols, cookie, routingToken, noMatrix, noTlsVersions, noEncryptionLevels, keyLog, allAddresses, handshakeOnly, user })
        {
            root.Options.Add(option);
        }

        var path = PathChecks.Add(root);

        root.SetAction(async (parse, ct) =>
        {
            string? targetText = parse.GetValue(target);
            bool targetsMode = path.IsTargetsMode(parse);
            if (string.IsNullOrWhiteSpace(targetText) && !targetsMode)
            {
                return Usage(io, "missing target: rdpprobe HOST[:PORT]");
            }

            if (!string.IsNullOrWhiteSpace(targetText) && targetsMode)
            {
                return Usage(io, "give either a target or --targets FILE");
            }

            ProbeTarget? probeTarget = null;
            if (!targetsMode && !ProbeTarget.TryParse(targetText, out probeTarget, out string? targetError))
            {
                return Usage(io, targetError!);
            }

            if (!TryParseTimeout(parse.GetValue(timeout)!, out var phaseTimeout, out string? timeoutError))
            {
                return Usage(io, timeoutError!);
            }

            var requested = ProbeOptions.DefaultProtocols;
            if (parse.GetValue(protocols) is { } protocolText && !TryParseProtocols(protocolText, out requested, out string? protocolError))
            {
                return Usage(io, protocolError!);
            }

            string? cookieValue = parse.GetValue(cookie);
            string? tokenValue = parse.GetValue(routingToken);
            if (cookieValue is not null && tokenValue is not null)
            {
                return Usage(io, "--cookie and --routing-token are exclusive (the Connection Request carries one of them)");
            }

            if (!ValidToken(cookieValue, "Cookie: mstshash=".Length, out string? cookieError) || !ValidToken(tokenValue, 0, out cookieError))
            {
                return Usage(io, cookieError!);
            }

            var options = new ProbeOptions
            {
                RequestedProtocols = requested,
                Cookie = cookieValue,
                RoutingToken = tokenValue,
                PhaseTimeout = phaseTimeout,
                SecurityMatrix = !parse.GetValue(noMatrix),
                TlsVersions = !parse.GetValue(noTlsVersions),
                EncryptionLevels = !parse.GetValue(noEncryptionLevels),
                TlsKeyLogPath = parse.GetValue(keyLog),
                AllAddresses = parse.GetValue(allAddresses),
                SessionPhases = !parse.GetValue(handshakeOnly),
            };
            var engine = new ProbeEngine(options);
            if (parse.GetValue(user) is { } userSpec)
            {
                if (string.IsNullOrWhiteSpace(userSpec) || userSpec.Any(char.IsControl))
                {
                    return Usage(io, "--user: expected DOMAIN\\user, user@domain or user");
                }

                string? password = PasswordSource.Get(userSpec, io.Error, out string? passwordError);
                if (password is null)
                {
                    return Usage(io, passwordError!);
                }

                engine = engine.WithCredentials(userSpec, password);
            }

            return await path.RunAsync(parse, probeTarget, engine, parse.GetValue(json), io, ct).ConfigureAwait(false)
                ?? await RunAsync(engine, probeTarget!, parse.GetValue(json), io, ct).ConfigureAwait(false);
        });
    }

    /// <summary>Runs the probe and prints the result; the exit code follows the verdict (first failing report wins).</summary>
    public static async Task<int> RunAsync(ProbeEngine engine, ProbeTarget target, bool json, CliIo io, CancellationToken ct)
    {
        var reports = await engine.RunAsync(target, ct).ConfigureAwait(false);
        return await PrintAsync(reports, json, io, ct).ConfigureAwait(false);
    }

    /// <summary>Prints probe reports (human view, or JSON with one line per report when there are several).</summary>
    internal static async Task<int> PrintAsync(IReadOnlyList<ProbeReport> reports, bool json, CliIo io, CancellationToken ct)
    {
        foreach (var report in reports)
        {
            if (json)
            {
                // With --all-addresses each address gets its own document, one per line (JSON Lines).
                string text = ProbeJson.Serialize(report);
                await io.Out.WriteLineAsync(reports.Count > 1 ? text.ReplaceLineEndings(string.Empty) : text).ConfigureAwait(false);
            }
            else
            {
                ProbeView.Render(io.Console, report);
            }
        }

        await io.Out.FlushAsync(ct).ConfigureAwait(false);
        return reports.Select(r => ExitCodes.ForVerdict(r.Verdict)).FirstOrDefault(code => code != ExitCodes.Ok);
    }

    private static int Usage(CliIo io, string message)
    {
        io.Error.WriteLine($"rdpprobe: {message}");
        return ExitCodes.Usage;
    }

    /// <summary>"5s", "1500ms", "2.5" (seconds), "1m"; between 100 ms and 10 minutes.</summary>
    internal static bool TryParseTimeout(string text, out TimeSpan timeout, out string? error)
        => Durations.TryParse(text, "--timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), out timeout, out error);

    internal static bool TryParseProtocols(string text, out SecurityProtocols protocols, out string? error)
    {
        protocols = SecurityProtocols.Rdp;
        error = null;
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            error = "--protocols: give at least one of rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad";
            return false;
        }

        foreach (string part in parts)
        {
            if (!SecurityProtocolNames.TryParseReportName(part, out var protocol))
            {
                error = $"--protocols: unknown protocol '{part}' (use rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad)";
                return false;
            }

            protocols |= protocol;
        }

        return true;
    }

    /// <summary>The token ends in CR LF and the whole Connection Request must fit one X.224 TPDU (LI is one byte).</summary>
    private static bool ValidToken(string? value, int prefix, out string? error)
    {
        error = null;
        if (value is null)
        {
            return true;
        }

        if (value.Any(c => c is '\r' or '\n' || c > 0x7E || c < 0x20))
        {
            error = "cookie / routing token: printable ASCII only, no line breaks";
            return false;
        }

        if (prefix + value.Length > 200)
        {
            error = "cookie / routing token too long (the Connection Request is at most 259 bytes)";
            return false;
        }

        return true;
    }
}
