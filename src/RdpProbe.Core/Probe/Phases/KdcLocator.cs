using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace RdpProbe.Probe.Phases;

/// <summary>One KDC to try: where, and how the probe learned of it.</summary>
internal sealed record KdcCandidate(string Host, int Port, string Source)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>What the client's krb5.conf says (MIT profile format, read by libkrb5's own profile API).</summary>
internal sealed record Krb5Config(string Path, string? DefaultRealm, bool DnsLookupKdc, IReadOnlyList<int>? PermittedEtypes, IReadOnlyList<string> Kdcs);

/// <summary>
/// Finds the KDCs of a realm the way MIT and Windows clients do: an explicit KDC first, else krb5.conf's
/// [realms] REALM kdc = entries, else DNS SRV records _kerberos._udp.REALM and _kerberos._tcp.REALM (RFC 4120 §7.2.3.2)
/// when dns_lookup_kdc allows it (MIT's default when the realm lists no KDC).
/// </summary>
internal static class KdcLocator
{
    /// <summary>Kerberos' port (RFC 4120 §7.2.1, §7.2.2).</summary>
    public const int DefaultPort = 88;

    /// <summary>The krb5.conf a client here would read: KRB5_CONFIG (a colon-separated list) or /etc/krb5.conf.</summary>
    public static string DefaultConfigPath()
        => Environment.GetEnvironmentVariable("KRB5_CONFIG") is { Length: > 0 } env ? env : "/etc/krb5.conf";

    /// <summary>Reads the parts of krb5.conf the phase needs; null when no file of the path exists or libkrb5 is missing.</summary>
    public static Krb5Config? ReadConfig(string path, string? realm)
    {
        if (!path.Split(':').Any(File.Exists) || !Krb5Native.Available())
        {
            return null;
        }

        string? defaultRealm = Krb5Native.ProfileValues(path, "libdefaults", "default_realm").FirstOrDefault();
        string? lookup = Krb5Native.ProfileValues(path, "libdefaults", "dns_lookup_kdc").FirstOrDefault();
        var policy = Krb5Native.ProfileValues(path, "libdefaults", "permitted_enctypes");
        string? effectiveRealm = realm ?? defaultRealm;
        var kdcs = effectiveRealm is null ? [] : Krb5Native.ProfileValues(path, "realms", effectiveRealm, "kdc");
        return new Krb5Config(path, defaultRealm, lookup is null || IsTrue(lookup), policy.Count == 0 ? null : ParseEtypes(policy), kdcs);
    }

    /// <summary>An etype list as krb5.conf spells it ("aes256-cts aes128-cts", comma or space separated).</summary>
    public static IReadOnlyList<int> ParseEtypes(IEnumerable<string> values)
    {
        var list = new List<int>();
        foreach (string value in values)
        {
            foreach (string name in value.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (Protocol.Kerberos.EtypeFromName(name) is { } etype && !list.Contains(etype))
                {
                    list.Add(etype);
                }
            }
        }

        return list;
    }

    /// <summary>HOST[:PORT] (also [v6]:PORT) as --kdc and krb5.conf's kdc = give it; null when malformed.</summary>
    public static KdcCandidate? Parse(string text, string source)
    {
        text = text.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            string host = text[1..close];
            string rest = text[(close + 1)..];
            return rest.Length == 0 ? new KdcCandidate(host, DefaultPort, source)
                : rest.StartsWith(':') && TryPort(rest[1..], out int p) ? new KdcCandidate(host, p, source) : null;
        }

        int colon = text.LastIndexOf(':');
        if (colon > 0 && text.IndexOf(':', StringComparison.Ordinal) == colon)
        {
            return TryPort(text[(colon + 1)..], out int port) ? new KdcCandidate(text[..colon], port, source) : null;
        }

        return IPAddress.TryParse(text, out _) || Uri.CheckHostName(text) != UriHostNameType.Unknown ? new KdcCandidate(text, DefaultPort, source) : null;
    }

    /// <summary>SRV records _kerberos._udp.REALM and _kerberos._tcp.REALM, by priority then weight (RFC 2782), bounded.</summary>
    public static async Task<(IReadOnlyList<KdcCandidate> Kdcs, string Detail)> LookupSrvAsync(string realm, IPEndPoint? dnsServer, CancellationToken ct)
    {
        var options = dnsServer is null ? new LookupClientOptions() : new LookupClientOptions(dnsServer);
        options.UseCache = false;
        options.Timeout = TimeSpan.FromSeconds(2);
        options.Retries = 1;
        options.ThrowDnsErrors = false;
        options.ContinueOnDnsError = false;
        var client = new LookupClient(options);
        var found = new List<KdcCandidate>();
        var notes = new List<string>();
        foreach (string proto in new[] { "_udp", "_tcp" })
        {
            string name = $"_kerberos.{proto}.{realm}";
            IDnsQueryResponse response;
            try
            {
                response = await client.QueryAsync(name, QueryType.SRV, QueryClass.IN, ct).ConfigureAwait(false);
            }
            catch (DnsResponseException e)
            {
                notes.Add($"{name}: {e.Code}");
                continue;
            }

            var records = response.Answers.SrvRecords().OrderBy(r => r.Priority).ThenByDescending(r => r.Weight).ToList();
            notes.Add(records.Count == 0 ? $"{name}: no SRV record" : $"{name}: {string.Join(", ", records.Select(r => $"{r.Target.Value.TrimEnd('.')}:{r.Port}"))}");
            foreach (var record in records)
            {
                string target = record.Target.Value.TrimEnd('.');
                // "." as the target means the service is decidedly not available (RFC 2782).
                if (target.Length == 0)
                {
                    continue;
                }

                string host = await AddressOfAsync(client, response, target, ct).ConfigureAwait(false) ?? target;
                var candidate = new KdcCandidate(host, record.Port, $"dns_srv {name} → {target}");
                if (!found.Any(f => f.Host == candidate.Host && f.Port == candidate.Port))
                {
                    found.Add(candidate);
                }
            }
        }

        return (found, string.Join("; ", notes));
    }

    // The SRV target's address from the answer's additional records, else an A/AAAA query to the same server.
    private static async Task<string?> AddressOfAsync(LookupClient client, IDnsQueryResponse response, string target, CancellationToken ct)
    {
        var additional = response.Additionals.OfType<AddressRecord>().FirstOrDefault(a => a.DomainName.Value.TrimEnd('.').Equals(target, StringComparison.OrdinalIgnoreCase));
        if (additional is not null)
        {
            return additional.Address.ToString();
        }

        foreach (var type in new[] { QueryType.A, QueryType.AAAA })
        {
            try
            {
                var answer = await client.QueryAsync(target, type, QueryClass.IN, ct).ConfigureAwait(false);
                if (answer.Answers.OfType<AddressRecord>().FirstOrDefault() is { } address)
                {
                    return address.Address.ToString();
                }
            }
            catch (DnsResponseException)
            {
                // Leave the name; the connect step resolves it with the system resolver.
            }
        }

        return null;
    }

    private static bool TryPort(string text, out int port)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    private static bool IsTrue(string value) => value.Trim().ToLowerInvariant() is "true" or "yes" or "on" or "1";
}
