using System.Net;

namespace RdpProbe.Probe;

/// <summary>
/// Where the kerberos phase looks for the realm and its KDCs (issue 12). Present only when the user asked for Kerberos
/// (--realm or --kdc); the password comes with the credentials, never through here.
/// </summary>
public sealed record KerberosOptions
{
    /// <summary>--realm; null: the user name's @REALM, else krb5.conf's default_realm.</summary>
    public string? Realm { get; init; }

    /// <summary>--kdc HOST[:PORT]; null: krb5.conf's [realms] kdc =, else DNS SRV.</summary>
    public string? Kdc { get; init; }

    /// <summary>--dns-server for the SRV lookup; null: the system's resolvers.</summary>
    public IPEndPoint? DnsServer { get; init; }

    /// <summary>
    /// --server-name: the server's name for the SPN (TERMSRV/name) when the target is given as an address; a target
    /// given by name uses that name.
    /// </summary>
    public string? ServerName { get; init; }

    /// <summary>The krb5.conf to read; null: KRB5_CONFIG or /etc/krb5.conf, as MIT clients do.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Is <paramref name="text"/> a KDC as --kdc takes it (HOST, HOST:PORT, [V6]:PORT)?</summary>
    public static bool IsValidKdc(string text) => Phases.KdcLocator.Parse(text, "option") is not null;
}

/// <summary>One way of reaching the KDC (UDP or TCP) and what happened.</summary>
public sealed record KdcReachability(bool Reachable, double? Ms, string Detail);

/// <summary>One library exchange (AS with the password, TGS for the SPN): ok or the KDC's error, and the etypes granted.</summary>
public sealed record KerberosExchange(bool Ok, string? Error, string? Message, string? TicketEtype, string? SessionKeyEtype, double Ms);

/// <summary>What the kerberos phase found (docs/REPORTS.md, "kerberos").</summary>
public sealed class KerberosFacts
{
    public string? Realm { get; set; }

    /// <summary>option, user_name or krb5_conf.</summary>
    public string? RealmSource { get; set; }

    /// <summary>TERMSRV/&lt;name&gt;; null for a target given as an IP address (clients then skip Kerberos).</summary>
    public string? Spn { get; set; }

    /// <summary>The krb5.conf read (path), when one was.</summary>
    public string? Config { get; set; }

    /// <summary>The KDC the phase used, HOST:PORT.</summary>
    public string? Kdc { get; set; }

    /// <summary>How it was found: option, krb5_conf, dns_srv ….</summary>
    public string? KdcSource { get; set; }

    public List<string> KdcCandidates { get; } = [];

    /// <summary>The DNS SRV lookup's answers (or why none), when it ran.</summary>
    public string? SrvLookup { get; set; }

    public KdcReachability? Udp { get; set; }

    public KdcReachability? Tcp { get; set; }

    /// <summary>The KDC's clock minus this machine's, from the KRB-ERROR's stime/susec (RFC 4120 §5.9.1), in seconds.</summary>
    public double? ClockSkewSeconds { get; set; }

    /// <summary>What the KDC answered the AS-REQ without pre-authentication (an RFC 4120 §7.5.9 name, or AS-REP).</summary>
    public string? KdcAnswer { get; set; }

    /// <summary>Encryption types the client asks for (its policy: krb5.conf permitted_enctypes, else Windows' default).</summary>
    public List<string> EtypesRequested { get; } = [];

    /// <summary>Encryption types of the account's keys as the KDC lists them (ETYPE-INFO2, asked with every etype).</summary>
    public List<string> AccountEtypes { get; } = [];

    public KerberosExchange? As { get; set; }

    public KerberosExchange? Tgs { get; set; }
}
