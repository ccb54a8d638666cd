using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using RdpProbe.Probe;

namespace RdpProbe.Cli;

/// <summary>
/// The kerberos phase's options (issue 12): --realm, --kdc HOST[:PORT], --dns-server ADDR[:PORT], --server-name NAME.
/// Giving --realm or --kdc asks for the phase; the password comes with --user as for NTLM.
/// </summary>
internal sealed class KerberosOptionsCli
{
    public Option<string?> Realm { get; } = new("--realm") { Description = "Kerberos realm (e.g. CORP.EXAMPLE.COM): run the kerberos phase — KDC, AS and TGS for TERMSRV/<name> — before CredSSP [default: user@REALM, else krb5.conf default_realm]", HelpName = "REALM", CustomParser = ParseRealm };

    public Option<string?> Kdc { get; } = new("--kdc") { Description = "The KDC to use, HOST[:PORT] (default port 88) [default: krb5.conf [realms] kdc =, else DNS SRV _kerberos._udp/_tcp.REALM]", HelpName = "HOST[:PORT]", CustomParser = ParseKdc };

    public Option<IPEndPoint?> DnsServer { get; } = new("--dns-server") { Description = "DNS server for the KDC's SRV lookup, ADDR[:PORT] [default: the system's]", HelpName = "ADDR[:PORT]", CustomParser = ParseDnsServer };

    public Option<string?> ServerName { get; } = new("--server-name") { Description = "The server's name for the SPN TERMSRV/NAME when the target is given as an address (e.g. 10.0.0.5 --server-name app01.corp.example)", HelpName = "NAME", CustomParser = ParseServerName };

    public IEnumerable<Option> All => [Realm, Kdc, DnsServer, ServerName];

    /// <summary>The phase's options when --realm or --kdc was given; null otherwise (no kerberos phase).</summary>
    public KerberosOptions? Read(ParseResult parse)
    {
        string? realm = parse.GetValue(Realm);
        string? kdc = parse.GetValue(Kdc);
        if (realm is null && kdc is null)
        {
            return null;
        }

        return new KerberosOptions { Realm = realm, Kdc = kdc, DnsServer = parse.GetValue(DnsServer), ServerName = parse.GetValue(ServerName) };
    }

    private static string? ParseRealm(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        if (text.Length is 0 or > 255 || text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '/' or '@' or ':'))
        {
            result.AddError($"--realm {CliText.Printable(text)}: give a realm name such as CORP.EXAMPLE.COM");
            return null;
        }

        return text;
    }

    private static string? ParseKdc(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        if (!KerberosOptions.IsValidKdc(text))
        {
            result.AddError($"--kdc {CliText.Printable(text)}: give HOST or HOST:PORT (IPv6 as [ADDR]:PORT)");
            return null;
        }

        return text;
    }

    private static IPEndPoint? ParseDnsServer(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        if (IPAddress.TryParse(text, out var address) && !text.Contains(':', StringComparison.Ordinal))
        {
            return new IPEndPoint(address, 53);
        }

        if (IPEndPoint.TryParse(text, out var endPoint) && endPoint.Port > 0)
        {
            return endPoint;
        }

        if (IPAddress.TryParse(text, out address))
        {
            return new IPEndPoint(address, 53);
        }

        result.AddError($"--dns-server {CliText.Printable(text)}: give an IP address, ADDR:PORT or [V6]:PORT");
        return null;
    }

    private static string? ParseServerName(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : string.Empty;
        if (Uri.CheckHostName(text) is not (UriHostNameType.Dns) || text.Length > 253)
        {
            result.AddError($"--server-name {CliText.Printable(text)}: give a host name such as app01.corp.example");
            return null;
        }

        return text.ToString(CultureInfo.InvariantCulture);
    }
}
