using System.Globalization;
using System.Net;

namespace RdpProbe.IntegrationTests.Lab;

/// <summary>The lab's servers, all on 127.0.0.1 (see scripts/lab.sh).</summary>
public sealed record LabEndpoints(IPEndPoint Xrdp, IPEndPoint ShadowNla, IPEndPoint ShadowTls, IPEndPoint ShadowRdp, IPEndPoint ClosedPort)
{
    public static LabEndpoints ForBase(int basePort) => new(
        new IPEndPoint(IPAddress.Loopback, basePort + 0),
        new IPEndPoint(IPAddress.Loopback, basePort + 1),
        new IPEndPoint(IPAddress.Loopback, basePort + 2),
        new IPEndPoint(IPAddress.Loopback, basePort + 3),
        new IPEndPoint(IPAddress.Loopback, basePort + 9));

    /// <summary>base+4: xrdp with a certificate that expired in 2021 (scripts/lab.sh xrdp-expired).</summary>
    public IPEndPoint XrdpExpired => Offset(4);

    /// <summary>base+5: xrdp accepting TLS 1.0 only (xrdp-tls10).</summary>
    public IPEndPoint XrdpTls10 => Offset(5);

    /// <summary>base+6: xrdp whose certificate and key files are missing (xrdp-nocert).</summary>
    public IPEndPoint XrdpNoCert => Offset(6);

    /// <summary>base+7: xrdp with security_layer=rdp (xrdp-rdponly).</summary>
    public IPEndPoint XrdpRdpOnly => Offset(7);

    /// <summary>base+8: the NLA shadow server with its clock 7 minutes ahead under libfaketime (shadow-skew).</summary>
    public IPEndPoint ShadowSkew => Offset(8);

    /// <summary>base+10: xrdp whose private key does not belong to its certificate (xrdp-badkey): a cleartext MCS Disconnect Provider Ultimatum where the ServerHello was due.</summary>
    public IPEndPoint XrdpBadKey => Offset(10);

    /// <summary>base+11: python3 -m http.server (scripts/lab.sh http), a foreign service on the RDP port.</summary>
    public IPEndPoint ForeignHttp => Offset(11);

    /// <summary>base+12: openssl s_server -www with a self-signed certificate (tls-server).</summary>
    public IPEndPoint ForeignTls => Offset(12);

    /// <summary>base+13: sshd on 127.0.0.1 (sshd).</summary>
    public IPEndPoint ForeignSsh => Offset(13);

    private IPEndPoint Offset(int n) => new(IPAddress.Loopback, Xrdp.Port + n);
}

/// <summary>
/// Starts the lab (scripts/lab.sh start --base N, N = env RDPPROBE_LAB_BASE or 13389) once per test run.
/// Start is idempotent, so a lab that is already up (from an earlier run or another checkout) is reused.
/// DisposeAsync deliberately stops nothing: the servers stay up for the next run and for people working by hand;
/// `scripts/lab.sh stop` (or .ci/run's exit trap) stops them.
/// </summary>
public sealed class LabFixture : IAsyncLifetime
{
    public const string User = "probe", Domain = "LAB", Password = "Passw0rd!";
    public const int DefaultBasePort = 13389;

    /// <summary>xrdp and three FreeRDP shadow servers need up to ~30 s on a loaded 2-core machine; lab.sh bounds its own wait.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    public LabFixture()
    {
        BasePort = ReadBasePort();
        Endpoints = LabEndpoints.ForBase(BasePort);
    }

    public int BasePort { get; }

    public LabEndpoints Endpoints { get; }

    /// <summary>What lab.sh start printed (server states and the Xvfb display).</summary>
    public string StartOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var (exitCode, output) = await LabScripts.RunAsync("lab.sh", ["start", "--base", BasePort.ToString(CultureInfo.InvariantCulture)], StartTimeout).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"scripts/lab.sh start --base {BasePort} failed (exit {exitCode}):{Environment.NewLine}{output}");
        }

        StartOutput = output;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static int ReadBasePort()
    {
        string? text = Environment.GetEnvironmentVariable("RDPPROBE_LAB_BASE");
        if (string.IsNullOrWhiteSpace(text))
        {
            return DefaultBasePort;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port + 15 > IPEndPoint.MaxPort)
        {
            throw new InvalidOperationException($"RDPPROBE_LAB_BASE must be a port number with room for base+15, got '{text}'");
        }

        return port;
    }
}

[CollectionDefinition(Name)]
public sealed class LabCollection : ICollectionFixture<LabFixture>
{
    public const string Name = "lab";
}
