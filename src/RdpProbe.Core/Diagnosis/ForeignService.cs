using RdpProbe.Protocol;

namespace RdpProbe.Diagnosis;

/// <summary>
/// What is known about the service on the port when the x224 phase did not get a Connection Confirm: the identified
/// service (null when nothing identified it), where its bytes came from, and every step tried, in order.
/// </summary>
/// <param name="Service">The identification, or null when no step identified the service.</param>
/// <param name="Source">Where the identifying bytes came from: "the probe's own connection", "a second connection
/// that sent an HTTP request", "the server's bytes in the capture"...</param>
/// <param name="Steps">Every identification step with its outcome, in order (for the evidence and the JSON).</param>
/// <param name="Port">The TCP port the service listens on, when known.</param>
public sealed record ServiceEvidence(ServiceFingerprint? Service, string Source, IReadOnlyList<string> Steps, int? Port = null)
{
    /// <summary>True when the identifying bytes came on the connection the verdict is about (not on an extra one).</summary>
    public bool SameConnection { get; init; }

    /// <summary>True when a service other than RDP was identified.</summary>
    public bool IsForeign => Service is { Kind: not ServiceKind.Rdp };
}

/// <summary>
/// The verdict's words when something other than an RDP listener holds the port (issue 11): the identified service
/// leads the summary and the causes, since the evidence (its own bytes) rules out a hung or overloaded listener; when
/// the identification found nothing, the summary says what was tried and the causes say which possibilities remain and
/// what would tell them apart.
/// </summary>
public static class ForeignService
{
    /// <summary>The code of an identified service (Codes.Foreign*), or <see cref="Codes.ServiceUnidentified"/>.</summary>
    public static Code CodeOf(ServiceFingerprint? service) => service?.Kind switch
    {
        ServiceKind.Http => Codes.ForeignHttp,
        ServiceKind.Ssh => Codes.ForeignSsh,
        ServiceKind.Tls => Codes.ForeignTls,
        ServiceKind.Smtp or ServiceKind.Pop3 or ServiceKind.Imap => Codes.ForeignMail,
        ServiceKind.Ftp => Codes.ForeignFtp,
        ServiceKind.TextBanner => Codes.ForeignText,
        _ => Codes.ServiceUnidentified,
    };

    /// <summary>
    /// The explanation for an x224 phase that ended with <paramref name="ending"/> and has <paramref name="evidence"/>
    /// about the service; <paramref name="fallback"/> is the symptom table's explanation of the same ending, used
    /// for the words of the unidentified case.
    /// </summary>
    public static Explanation Explain(ServiceEvidence evidence, Ending ending, Explanation fallback)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(fallback);
        string port = evidence.Port is int p ? $"Port {p}" : "The port";
        if (evidence.Service is not { Kind: not ServiceKind.Rdp } service)
        {
            return Unidentified(evidence, ending, fallback);
        }

        string what = $"{port} answers {service.Describe()}, not RDP: {WhatItIs(service.Kind)}";
        string how = $"{evidence.Source} got {service.Evidence}";
        string rdp = evidence.SameConnection ? string.Empty : ending switch
        {
            Ending.Timeout => "; the RDP Connection Request itself got no answer",
            Ending.Closed => "; the RDP Connection Request itself was answered with a close",
            Ending.Reset => "; the RDP Connection Request itself was answered with a reset",
            _ => string.Empty,
        };
        string summary = $"{what} ({how}{rdp}). Wrong port, or a port forward to the wrong host.";

        var causes = new List<string>
        {
            $"wrong port: {Article(service.Kind)} listens on this port, not the RDP listener",
            "a port forward, NAT rule or load-balancer pool sends this port to the wrong host or service",
        };
        var remedies = new List<string>
        {
            "connect to the port the RDP listener uses (on Windows: PortNumber under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp; netstat -ano | findstr LISTEN on the server)",
            "fix the port forward / NAT rule so that it points at the RDP host's listener",
        };
        switch (service.Kind)
        {
            case ServiceKind.Tls:
                // RDP starts in clear (X.224, MS-RDPBCGR 1.3.1.1) and only then upgrades to TLS: a TLS-first service is not it.
                causes.Add("which TLS service cannot be told from the handshake alone: HTTPS, RD Gateway, or a TLS-terminating proxy in front of the RDP server (its certificate, e.g. openssl s_client -connect HOST:PORT, or an HTTPS request tells them apart)");
                remedies.Add("if this is an RD Gateway, connect through it as a gateway (mstsc: Advanced → Settings; xfreerdp /g:HOST:PORT), not directly");
                break;
            case ServiceKind.Http:
                causes.Add("RD Web Access or another web application on this port");
                break;
        }

        return new Explanation(summary, causes, remedies);
    }

    private static Explanation Unidentified(ServiceEvidence evidence, Ending ending, Explanation fallback)
    {
        if (evidence.Steps.Count == 0)
        {
            return fallback;
        }

        string tried = string.Join("; ", evidence.Steps);
        string summary = $"{fallback.Summary} Identifying the service found nothing ({tried}).";
        var causes = new List<string>();
        if (ending == Ending.Timeout)
        {
            // The evidence does not decide between these; each comes with what would tell it apart.
            causes.Add("still possible, the evidence does not decide: the RDP listener accepts connections but is hung (TermService wedged, MaxOutstandingConnections) — the server's own netstat -ano shows the port owned by TermService's svchost, and restarting the service brings answers back");
            causes.Add("still possible: a port forward or proxy accepted the connection but cannot reach its backend — probing the backend directly from the forwarder's network answers");
            causes.Add("still possible: a service that waits for its own client protocol (a database, a custom service) — ss -ltnp / netstat -ano on the server names the process");
        }
        else
        {
            causes.Add("still possible, the evidence does not decide: a service that closes on bytes it does not understand (a custom protocol), a firewall or load balancer that drops requests without the cookie or token it expects, or an overloaded listener — the server's own netstat -ano names the process on the port, and the load balancer's log names its decision");
        }

        causes.AddRange(fallback.Causes);
        return new Explanation(summary, causes.Distinct().ToList(), fallback.Remedies);
    }

    private static string WhatItIs(ServiceKind kind) => kind switch
    {
        ServiceKind.Http => "a web server listens here",
        ServiceKind.Ssh => "an SSH server listens here",
        ServiceKind.Tls => "a TLS service (HTTPS, RD Gateway or a TLS proxy) listens here; RDP starts in clear and switches to TLS only after the X.224 Connection Confirm",
        ServiceKind.Smtp or ServiceKind.Pop3 or ServiceKind.Imap => "a mail server listens here",
        ServiceKind.Ftp => "an FTP server listens here",
        _ => "a service that greets in text listens here",
    };

    private static string Article(ServiceKind kind) => kind switch
    {
        ServiceKind.Http => "a web server",
        ServiceKind.Ssh => "an SSH server",
        ServiceKind.Tls => "a TLS service",
        ServiceKind.Smtp or ServiceKind.Pop3 or ServiceKind.Imap => "a mail server",
        ServiceKind.Ftp => "an FTP server",
        _ => "another service",
    };
}
