using System.CommandLine;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Cli;

/// <summary>The default verb: <c>rdpprobe HOST[:PORT] [options]</c>; parses typed options and hands over to a run mode.</summary>
internal static class ProbeCommand
{
    public static void Configure(RootCommand root, CliIo io)
    {
        var target = new Argument<ProbeTarget[]>("target") { Description = "HOST[:PORT] (default port 3389; IPv6 as [::1]:3389); several are probed one after the other, reported in the order given", Arity = ArgumentArity.ZeroOrMore, CustomParser = OptionParsers.Targets };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print one verdict line per target (for scripts); the exit code is unchanged" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Human view with every detail: each message on the wire, the security-layer matrix, the full certificate, CredSSP and session facts" };
        var output = new Option<string?>("--output", "-o") { Description = "Write the report (human view, --json or --quiet lines) to FILE instead of standard output", HelpName = "FILE" };
        var json = new Option<bool>("--json") { Description = "Print one JSON document (schema rdpprobe.probe/1) instead of the human view" };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "Time limit per phase, e.g. 5s, 1500ms, 10 (seconds) [default: 5s]", HelpName = "duration", CustomParser = OptionParsers.PhaseTimeout };
        var protocols = new Option<SecurityProtocols>("--protocols") { Description = "Security protocols to request: rdp,ssl,hybrid,hybrid_ex,rdstls,rdsaad (default: the --client profile's request, with its fallbacks; given, the request is fixed)", HelpName = "list", CustomParser = OptionParsers.Protocols };
        var cookie = new Option<string?>("--cookie") { Description = "Send 'Cookie: mstshash=VALUE' in the Connection Request (load-balancer hint)", CustomParser = r => OptionParsers.Token(r, "Cookie: mstshash=".Length) };
        var routingToken = new Option<string?>("--routing-token") { Description = "Send this load-balancer routing token instead of a cookie", CustomParser = r => OptionParsers.Token(r, 0) };
        var noMatrix = new Option<bool>("--no-matrix") { Description = "Skip the security-layer matrix (one connection per protocol)" };
        var noTlsVersions = new Option<bool>("--no-tls-versions") { Description = "Skip the check of which TLS versions the server accepts" };
        var noClientSim = new Option<bool>("--no-client-sim") { Description = "Skip the client simulation (one connection per real client's TLS offer)" };
        var noEncryptionLevels = new Option<bool>("--no-encryption-levels") { Description = "Skip the check of which RDP encryption methods (40/56/128-bit, FIPS) a standard-security server accepts" };
        var keyLog = new Option<string?>("--tls-keylog") { Description = "Append the TLS secrets in NSS key log format to FILE (for Wireshark)" };
        var allAddresses = new Option<bool>("--all-addresses") { Description = "Probe every address the host name resolves to, in the resolver's order (default: the first)" };
        var handshakeOnly = new Option<bool>("--handshake-only") { Description = "Stop after the security handshake (tcp, x224, tls, credssp): no MCS, licensing or Demand Active" };
        var client = ClientOptions.CreateClient();
        var failOn = ClientOptions.CreateFailOn();
        var auth = AuthOptions.CreateAuth();
        var user = Credentials.CreateOption("Authenticate as DOMAIN\\user (password from RDPPROBE_PASSWORD or a prompt, never an argument)");
        var path = new PathOptions();
        var html = HtmlOutput.CreateOption("the report (ladder diagram, timings, findings)");
        var kerberos = new KerberosOptionsCli();

        root.Arguments.Add(target);
        foreach (var option in new Option[] { json, quiet, verbose, output, timeout, protocols, cookie, routingToken, noMatrix, noTlsVersions, noClientSim, noEncryptionLevels, keyLog, allAddresses, handshakeOnly, client, failOn, auth, user, html }.Concat(path.All).Concat(kerberos.All))
        {
            root.Options.Add(option);
        }

        root.SetAction(async (parse, ct) =>
        {
            var targets = parse.GetValue(target) ?? [];
            var probeTarget = targets.FirstOrDefault();
            var modes = path.Read(parse);
            if (modes.Conflict(probeTarget is not null) is { } conflict)
            {
                return Usage(io, conflict);
            }

            if (targets.Length > 1 && (modes.Repeat is not null || modes.ConcurrencyTest is not null || modes.RunOptions.CapturePath is not null))
            {
                return Usage(io, "--repeat, --concurrency-test and --capture take one target; give several with --targets FILE or without those options");
            }

            string? cookieValue = parse.GetValue(cookie);
            string? tokenValue = parse.GetValue(routingToken);
            if (cookieValue is not null && tokenValue is not null)
            {
                return Usage(io, "--cookie and --routing-token are exclusive (the Connection Request carries one of them)");
            }

            string? keyLogPath = parse.GetValue(keyLog);
            if (keyLogPath is not null && KeyLogProblem(keyLogPath) is { } keyLogProblem)
            {
                return Usage(io, $"--tls-keylog {CliText.Printable(keyLogPath)}: {keyLogProblem}");
            }

            var kerberosOptions = kerberos.Read(parse);
            var options = new ProbeOptions
            {
                Client = parse.ValueOr(client, ClientProfiles.Windows11),
                Cookie = cookieValue,
                RoutingToken = tokenValue,
                PhaseTimeout = parse.ValueOr(timeout, ProbeOptions.DefaultTimeout),
                SecurityMatrix = !parse.GetValue(noMatrix),
                TlsVersions = !parse.GetValue(noTlsVersions),
                ClientSimulation = !parse.GetValue(noClientSim),
                EncryptionLevels = !parse.GetValue(noEncryptionLevels),
                TlsKeyLogPath = keyLogPath,
                AllAddresses = parse.GetValue(allAddresses),
                SessionPhases = !parse.GetValue(handshakeOnly),
                Kerberos = kerberosOptions,
                Auth = parse.GetValue(auth),
                Realm = kerberosOptions?.Realm,
            };
            if (parse.GetResult(protocols) is not null)
            {
                // Only an explicit --protocols fixes the request (ProtocolsForced); otherwise the client profile's
                // request and its fallbacks after RDP_NEG_FAILURE apply (MS-RDPBCGR 2.2.1.2.2).
                options = options with { RequestedProtocols = parse.GetValue(protocols) };
            }

            if (Credentials.Apply(new ProbeEngine(options), parse.GetValue(user), io) is not { } engine)
            {
                return ExitCodes.Usage;
            }

            bool asJson = parse.GetValue(json);
            string? htmlPath = parse.GetValue(html);
            if (htmlPath is not null && (modes.TargetsFile is not null || modes.ConcurrencyTest is not null || modes.Repeat is not null))
            {
                return Usage(io, "--html writes the report of a single probe: not with --targets, --concurrency-test or --repeat");
            }
            bool asQuiet = parse.GetValue(quiet);
            if (asJson && asQuiet)
            {
                return Usage(io, "--json and --quiet are exclusive");
            }

            using var sink = OutputFile.Open(parse.GetValue(output), io);
            if (sink is null)
            {
                return ExitCodes.InputUnreadable;
            }

            io = sink.Io with { Verbose = parse.GetValue(verbose) };
            if (modes.TargetsFile is { } file)
            {
                return await TargetsView.RunAsync(engine, file, modes.Concurrency, asJson, io, ct, parse.GetValue(failOn)).ConfigureAwait(false);
            }

            if (targets.Length > 1 || asQuiet)
            {
                return await TargetListView.RunAsync(engine, targets, modes.RunOptions with { FailOn = parse.GetValue(failOn) }, asQuiet ? TargetListStyle.Quiet : asJson ? TargetListStyle.JsonLines : TargetListStyle.Human, io, ct).ConfigureAwait(false);
            }

            if (modes.ConcurrencyTest is { } connections)
            {
                return await ConcurrencyView.RunAsync(probeTarget!, connections, options.PhaseTimeout, asJson, io, ct).ConfigureAwait(false);
            }

            if (modes.Repeat is { } count)
            {
                return await RepeatView.RunAsync(engine, probeTarget!, count, asJson, io, ct, parse.GetValue(failOn)).ConfigureAwait(false);
            }

            return await ProbeRunView.RunAsync(engine, probeTarget!, modes.RunOptions with { FailOn = parse.GetValue(failOn) }, asJson, io, ct, htmlPath is null ? null : (htmlPath, HtmlOutput.CommandLine(parse))).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// Why the key log cannot be appended to, checked before connecting (the probe would otherwise find out after the
    /// TLS handshake): a directory, a missing directory, no permission. Opening for append creates the file if needed.
    /// </summary>
    internal static string? KeyLogProblem(string path)
    {
        if (Directory.Exists(path))
        {
            return "is a directory; give a file to append the TLS secrets to";
        }

        try
        {
            using var _ = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ex is DirectoryNotFoundException ? "its directory does not exist"
                : ex is UnauthorizedAccessException ? "not writable (permission denied)"
                : $"cannot be written: {CliText.Printable(ex.Message)}";
        }
    }

    /// <summary>A live capture that could not start: exit 6 when the capture library is missing, else a usage error.</summary>
    internal static int CaptureFailed(CliIo io, Probe.NetPath.LiveCaptureException ex)
    {
        if (ex.Failure == Probe.NetPath.LiveCaptureFailure.NoLibpcap)
        {
            io.Error.WriteLine($"rdpprobe: {ex.Message}");
            return ExitCodes.NoCaptureLibrary;
        }

        string hint = ex.Failure == Probe.NetPath.LiveCaptureFailure.NoInterfaceTowardsTarget ? "; name one with --capture-interface" : string.Empty;
        return Usage(io, ex.Message + hint);
    }

    internal static int Usage(CliIo io, string message)
    {
        io.Error.WriteLine($"rdpprobe: {message}");
        return ExitCodes.Usage;
    }
}
