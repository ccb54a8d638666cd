using RdpProbe.Diagnosis;

namespace RdpProbe.Cli;

/// <summary>Process exit codes; README.md documents them and scripts rely on them.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int InternalError = 1;
    public const int Usage = 2;

    // analyze: input problems
    public const int InputUnreadable = 3;
    public const int CaptureDamaged = 4;
    public const int NoCaptureLibrary = 6;    // libpcap (Npcap on Windows) missing or too old

    /// <summary>Standard output could not be written (a full disk, a closed pipe): the results are lost, so say so.</summary>
    public const int OutputFailed = 5;

    // probe: the first phase that did not end ok, by class
    public const int Dns = 10;
    public const int Tcp = 11;
    public const int X224 = 12;
    public const int Tls = 13;
    public const int Credssp = 14;
    public const int EarlyAuth = 15;
    public const int RdpConnect = 16;     // mcs, channels, security_exchange
    public const int RdpSession = 17;     // client_info, licensing, capabilities
    public const int PathCheck = 18;      // udp, mtu and other extra checks
    public const int Findings = 19;       // the verdict is ok, but a finding is at or above --fail-on

    // analyze: what the capture shows
    public const int ConnectionFailed = 20;
    public const int NoRdpConnections = 21;

    public const int Interrupted = 130;

    /// <summary>The probe's exit code: 0 when the verdict is ok, else the class of the phase that failed.</summary>
    public static int ForVerdict(Verdict verdict) => verdict.Ok ? Ok : ForPhase(verdict.Phase);

    /// <summary>
    /// The probe's exit code with --fail-on: a failed verdict keeps its phase class; an ok one becomes
    /// <see cref="Findings"/> when any finding is at least as severe as <paramref name="failOn"/>. Without --fail-on
    /// findings never change the exit code.
    /// </summary>
    public static int ForReports(IEnumerable<(Verdict Verdict, IReadOnlyList<Finding> Findings)> reports, Severity? failOn)
    {
        var list = reports.ToList();
        if (list.Select(r => r.Verdict).FirstOrDefault(v => !v.Ok) is { } failure)
        {
            return ForVerdict(failure);
        }

        return failOn is { } threshold && list.Any(r => r.Findings.Any(f => f.Severity <= threshold)) ? Findings : Ok;
    }

    public static int ForPhase(Phase phase) => phase switch
    {
        Phase.Dns => Dns,
        Phase.Tcp => Tcp,
        Phase.X224 => X224,
        Phase.Tls => Tls,
        Phase.Kerberos or Phase.Credssp => Credssp,
        Phase.EarlyAuth => EarlyAuth,
        Phase.Mcs or Phase.Channels or Phase.SecurityExchange => RdpConnect,
        Phase.ClientInfo or Phase.Licensing or Phase.Capabilities => RdpSession,
        _ => PathCheck,
    };
}
