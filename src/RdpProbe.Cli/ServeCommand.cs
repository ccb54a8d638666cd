using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using RdpProbe.Exporter;

namespace RdpProbe.Cli;

/// <summary>
/// <c>rdpprobe serve --listen ADDR:PORT --config FILE</c>: the Prometheus exporter (issue 15). Prometheus scrapes
/// /probe?target=host:port&amp;module=NAME; the exporter itself lives in RdpProbe.Exporter.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultListen = "127.0.0.1:9815";

    public static Command Create(CliIo io)
    {
        var listen = new Option<IPEndPoint?>("--listen") { Description = $"Address and port to listen on [default: {DefaultListen}]", HelpName = "addr:port", CustomParser = ParseListen };
        var config = new Option<string?>("--config") { Description = "Module file (YAML); without it one module, rdp_default, with the defaults", HelpName = "file" };
        var maxProbes = new Option<int>("--max-concurrent-probes") { Description = "Probes at once; more get 503 (1..4096)", HelpName = "n", DefaultValueFactory = _ => 64, CustomParser = OptionParsers.Count("--max-concurrent-probes", 64, 1, 4096, n => $"--max-concurrent-probes {n}: must be 1..4096") };

        var command = new Command("serve", "Run a Prometheus exporter: GET /probe?target=host:port&module=NAME probes one RDP endpoint per scrape");
        command.Options.Add(listen);
        command.Options.Add(config);
        command.Options.Add(maxProbes);
        command.SetAction(async (parse, ct) =>
        {
            var endpoint = parse.GetValue(listen) ?? IPEndPoint.Parse(DefaultListen);
            ExporterServer server;
            try
            {
                var loaded = parse.GetValue(config) is { } path ? ExporterConfig.Load(path) : ExporterConfig.Default;
                server = new ExporterServer(new ExporterOptions { Listen = endpoint, Config = loaded, MaxConcurrentProbes = parse.GetValue(maxProbes) });
            }
            catch (ExporterConfigException e)
            {
                await io.Error.WriteLineAsync($"rdpprobe serve: {e.Message}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            await using (server.ConfigureAwait(false))
            {
                try
                {
                    await server.StartAsync(ct).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    await io.Error.WriteLineAsync($"rdpprobe serve: cannot listen on {endpoint}: {e.Message}").ConfigureAwait(false);
                    return ExitCodes.InternalError;
                }

                await io.Error.WriteLineAsync($"rdpprobe serve: listening on {server.BaseAddress} (GET /probe?target=host:port&module=NAME, /metrics)").ConfigureAwait(false);
                try
                {
                    // The host's console lifetime turns SIGTERM and Ctrl+C into a shutdown; the command line's token
                    // covers the rest.
                    await server.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Stopping is the normal end of serving.
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static IPEndPoint? ParseListen(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : DefaultListen;
        // The port is required: ADDR:PORT, or [V6]:PORT for IPv6 (a bare "::1" would otherwise parse as port 0).
        int colon = text.LastIndexOf(':');
        bool hasPort = colon > 0 && (text[0] == '[' ? text[colon - 1] == ']' : text.IndexOf(':', StringComparison.Ordinal) == colon);
        if (hasPort && IPEndPoint.TryParse(text, out var endpoint))
        {
            return endpoint;
        }

        result.AddError($"--listen {text}: expected ADDR:PORT, e.g. 127.0.0.1:9815 or [::]:9815");
        return null;
    }
}
