using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;
using RdpProbe.Protocol;
using RdpProbe.Runs;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RdpProbe.Exporter;

/// <summary>The configuration file did not parse or holds a value the exporter cannot use; the message names the line.</summary>
public sealed class ExporterConfigException(string message) : Exception(message);

/// <summary>Where a module's password comes from: never the file itself, never the URL.</summary>
/// <param name="User">DOMAIN\user or user@domain (not a secret; it is also the mstshash cookie a client sends).</param>
/// <param name="PasswordEnvironmentVariable">Read the password from this environment variable.</param>
/// <param name="PasswordFile">Read the password from this file (its first line).</param>
public sealed record ModuleCredentials(string User, string? PasswordEnvironmentVariable, string? PasswordFile)
{
    /// <summary>Reads the password now; a missing variable or file is a configuration error, not a failed probe.</summary>
    public string ReadPassword()
    {
        if (PasswordEnvironmentVariable is { } name)
        {
            return Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
                ? value
                : throw new ExporterConfigException($"credentials: the environment variable {name} is not set");
        }

        try
        {
            string text = File.ReadAllText(PasswordFile!);
            int end = text.IndexOfAny(['\r', '\n']);
            return end < 0 ? text : text[..end];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExporterConfigException($"credentials: cannot read the password file {PasswordFile}: {e.Message}");
        }
    }

    // The record's generated ToString would be fine (it holds no password), but say so explicitly.
    public override string ToString() => $"{User} (password from {(PasswordEnvironmentVariable is { } v ? "$" + v : PasswordFile)})";
}

/// <summary>One probe module: how a /probe request with module=NAME probes its target.</summary>
public sealed record ProbeModule
{
    public required string Name { get; init; }

    /// <summary>Upper bound on the whole probe; the scrape's own timeout lowers it (X-Prometheus-Scrape-Timeout-Seconds).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Explicit X.224 request (MS-RDPBCGR 2.2.1.1.1); null takes the client profile's request and fallbacks.</summary>
    public SecurityProtocols? Protocols { get; init; }

    public ClientProfile Client { get; init; } = ClientProfiles.Windows11;

    /// <summary>The security-layer matrix, TLS version and encryption-level checks (extra connections; NLA required needs the matrix).</summary>
    public bool ExtraChecks { get; init; } = true;

    /// <summary>Go on past the security handshake to Demand Active.</summary>
    public bool SessionPhases { get; init; } = true;

    public bool Udp { get; init; }

    public bool Mtu { get; init; }

    public ModuleCredentials? Credentials { get; init; }

    /// <summary>The probe's options for a given overall deadline: no single phase may wait longer than the whole probe may.</summary>
    public ProbeOptions ToProbeOptions(TimeSpan deadline)
    {
        var phaseTimeout = deadline < ProbeOptions.DefaultTimeout ? deadline : ProbeOptions.DefaultTimeout;
        var options = new ProbeOptions
        {
            Client = Client,
            PhaseTimeout = phaseTimeout,
            SecurityMatrix = ExtraChecks,
            TlsVersions = ExtraChecks,
            ClientSimulation = ExtraChecks,
            EncryptionLevels = ExtraChecks,
            SessionPhases = SessionPhases,
        };
        return Protocols is { } p ? options with { RequestedProtocols = p } : options;
    }

    public ProbeRunOptions ToRunOptions() => new() { Udp = Udp, Mtu = Mtu };
}

/// <summary>The exporter's configuration file (YAML): the modules by name.</summary>
/// <example>
/// modules:
///   rdp_default:
///     timeout: 10s
///     client: windows11
///     extra_checks: true
///   rdp_nla:
///     protocols: [hybrid, hybrid_ex]
///     udp: true
///     credentials:
///       user: LAB\probe
///       password_env: RDPPROBE_PASSWORD
/// </example>
public sealed class ExporterConfig
{
    public const string DefaultModuleName = "rdp_default";

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromMinutes(2);

    private ExporterConfig(IReadOnlyDictionary<string, ProbeModule> modules) => Modules = modules;

    public IReadOnlyDictionary<string, ProbeModule> Modules { get; }

    /// <summary>A configuration with one module, <see cref="DefaultModuleName"/>, with the defaults (no --config given).</summary>
    public static ExporterConfig Default { get; } = new(new Dictionary<string, ProbeModule>(StringComparer.Ordinal)
    {
        [DefaultModuleName] = new ProbeModule { Name = DefaultModuleName },
    });

    public static ExporterConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ExporterConfigException($"{path}: {e.Message}");
        }

        try
        {
            return Parse(text);
        }
        catch (ExporterConfigException e)
        {
            throw new ExporterConfigException($"{path}: {e.Message}");
        }
    }

    /// <summary>
    /// Parses the YAML text through YamlDotNet's node model (no reflection, so it works trimmed and under Native AOT).
    /// Unknown keys are errors: a typo must not silently fall back to a default.
    /// </summary>
    public static ExporterConfig Parse(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ExporterConfigException($"line {e.Start.Line}: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ExporterConfigException("expected a mapping with a 'modules' key");
        }

        var modules = new Dictionary<string, ProbeModule>(StringComparer.Ordinal);
        foreach (var (key, value) in Entries(root, "the top level", ["modules"]))
        {
            if (key == "modules")
            {
                if (value is not YamlMappingNode map)
                {
                    throw Error(value, "'modules' must be a mapping of module names");
                }

                foreach (var (name, body) in map.Children)
                {
                    string moduleName = Scalar(name, "module name");
                    if (!IsModuleName(moduleName))
                    {
                        throw Error(name, $"module name '{moduleName}' must be letters, digits, '_' or '-'");
                    }

                    modules[moduleName] = ParseModule(moduleName, body);
                }
            }
        }

        if (modules.Count == 0)
        {
            throw new ExporterConfigException("no module defined under 'modules'");
        }

        return new ExporterConfig(modules);
    }

    internal static bool IsModuleName(string name) => name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    private static ProbeModule ParseModule(string name, YamlNode body)
    {
        var module = new ProbeModule { Name = name };
        if (body is YamlScalarNode { Value: null or "" })
        {
            return module;
        }

        if (body is not YamlMappingNode map)
        {
            throw Error(body, $"module {name}: expected a mapping");
        }

        string[] known = ["timeout", "protocols", "client", "extra_checks", "session_phases", "udp", "mtu", "credentials"];
        foreach (var (key, value) in Entries(map, $"module {name}", known))
        {
            module = key switch
            {
                "timeout" => module with { Timeout = Duration(value, $"module {name}: timeout") },
                "protocols" => module with { Protocols = Protocols(value, name) },
                "client" => module with { Client = Client(value, name) },
                "extra_checks" => module with { ExtraChecks = Bool(value, $"module {name}: extra_checks") },
                "session_phases" => module with { SessionPhases = Bool(value, $"module {name}: session_phases") },
                "udp" => module with { Udp = Bool(value, $"module {name}: udp") },
                "mtu" => module with { Mtu = Bool(value, $"module {name}: mtu") },
                "credentials" => module with { Credentials = CredentialsOf(value, name) },
                _ => module,
            };
        }

        return module;
    }

    private static IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode map, string where, string[] known)
    {
        foreach (var (keyNode, value) in map.Children)
        {
            string key = Scalar(keyNode, "key");
            if (!known.Contains(key))
            {
                throw Error(keyNode, $"{where}: unknown key '{key}' (known: {string.Join(", ", known)})");
            }

            yield return (key, value);
        }
    }

    private static ModuleCredentials CredentialsOf(YamlNode node, string module)
    {
        if (node is not YamlMappingNode map)
        {
            throw Error(node, $"module {module}: credentials must be a mapping with user and password_env or password_file");
        }

        string? user = null, env = null, file = null;
        foreach (var (key, value) in Entries(map, $"module {module}: credentials", ["user", "password_env", "password_file", "password"]))
        {
            switch (key)
            {
                case "user": user = Scalar(value, "user"); break;
                case "password_env": env = Scalar(value, "password_env"); break;
                case "password_file": file = Scalar(value, "password_file"); break;
                default:
                    // Accepting it would put a secret in a file people commit and paste into tickets.
                    throw Error(keyNode: value, $"module {module}: credentials: a password is never read from the configuration; use password_env or password_file");
            }
        }

        if (string.IsNullOrWhiteSpace(user))
        {
            throw Error(node, $"module {module}: credentials: 'user' is missing");
        }

        if ((env is null) == (file is null))
        {
            throw Error(node, $"module {module}: credentials: give exactly one of password_env and password_file");
        }

        return new ModuleCredentials(user, env, file);
    }

    private static SecurityProtocols Protocols(YamlNode node, string module)
    {
        var items = node switch
        {
            YamlSequenceNode seq => seq.Children.Select(c => Scalar(c, "protocol")).ToList(),
            YamlScalarNode s => (s.Value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
            _ => throw Error(node, $"module {module}: protocols must be a list"),
        };
        if (items.Count == 0)
        {
            throw Error(node, $"module {module}: protocols: give at least one of rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad");
        }

        var mask = SecurityProtocols.Rdp;
        foreach (var item in items)
        {
            if (!SecurityProtocolNames.TryParseReportName(item, out var protocol))
            {
                throw Error(node, $"module {module}: protocols: unknown protocol '{item}' (use rdp, ssl, hybrid, hybrid_ex, rdstls, rdsaad)");
            }

            mask |= protocol;
        }

        return mask;
    }

    private static ClientProfile Client(YamlNode node, string module)
    {
        string name = Scalar(node, "client");
        return ClientProfiles.TryGet(name, out var profile)
            ? profile
            : throw Error(node, $"module {module}: unknown client '{name}' (use {string.Join(", ", ClientProfiles.Names)})");
    }

    private static bool Bool(YamlNode node, string what) => Scalar(node, what) switch
    {
        "true" or "True" or "yes" => true,
        "false" or "False" or "no" => false,
        var other => throw Error(node, $"{what}: expected true or false, not '{other}'"),
    };

    /// <summary>Prometheus-style durations: "500ms", "10s", "1m"; a bare number is seconds.</summary>
    internal static TimeSpan Duration(YamlNode node, string what)
    {
        string text = Scalar(node, what);
        if (TryParseDuration(text, out var value) && value > TimeSpan.Zero && value <= MaxTimeout)
        {
            return value;
        }

        throw Error(node, $"{what}: expected a duration between 1ms and {MaxTimeout.TotalSeconds:0}s such as 10s or 500ms, not '{text}'");
    }

    internal static bool TryParseDuration(string text, out TimeSpan value)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ => (text, 1),
        };
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && double.IsFinite(n))
        {
            value = TimeSpan.FromSeconds(n * scale);
            return true;
        }

        value = default;
        return false;
    }

    private static string Scalar(YamlNode node, string what) => node is YamlScalarNode { Value: { } v }
        ? v
        : throw Error(node, $"{what}: expected a single value");

    private static ExporterConfigException Error(YamlNode keyNode, string message) => new($"line {keyNode.Start.Line}: {message}");
}
