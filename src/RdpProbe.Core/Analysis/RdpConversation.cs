using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// The RDP side of one connection: what the clear-text decoders find in each direction's stream (X.224
/// negotiation, TLS handshake, MCS/GCC for Standard RDP Security), the encrypted CredSSP flight pattern, and the
/// phase each PDU belongs to. Fed only through <see cref="ClientStream"/> and <see cref="ServerStream"/>: ordered
/// stream bytes, gaps and the end, as the TCP tracker reassembles them; a <see cref="PduWalker"/> per direction cuts
/// them into PDUs for the sink (<c>RdpConversation.PduSink.cs</c>).
/// </summary>
internal sealed partial class RdpConversation
{
    private readonly PhaseTimeline _phases;
    private readonly PduWalker _clientWalker;
    private readonly PduWalker _serverWalker;

    public RdpConversation(PhaseTimeline phases, AnomalyLog anomalies)
    {
        _phases = phases;
        Anomalies = anomalies;
        _clientWalker = new PduWalker(true, this);
        _serverWalker = new PduWalker(false, this);
    }

    /// <summary>The client's stream, in sequence order.</summary>
    public IStreamConsumer ClientStream => _clientWalker;

    /// <summary>The server's stream, in sequence order.</summary>
    public IStreamConsumer ServerStream => _serverWalker;

    public AnomalyLog Anomalies { get; }

    // X.224.
    public X224ConnectionRequest? Request { get; private set; }
    public X224ConnectionConfirm? Confirm { get; private set; }
    public int? RequestFrame { get; private set; }
    public int? ConfirmFrame { get; private set; }
    public bool ServerDisconnectUltimatum { get; private set; }
    public int? ServerUltimatumFrame { get; private set; }
    public string? NotRdpReason { get; private set; }

    /// <summary>Issue 11: the service the server's first non-RDP bytes identify (before any Connection Confirm).</summary>
    public ServiceFingerprint? ServerService { get; private set; }

    /// <summary>The frame that carried <see cref="ServerService"/>'s bytes.</summary>
    public int? ServerServiceFrame { get; private set; }

    /// <summary>The service the client's first non-RDP bytes identify (an HTTP or SSH client on the RDP port).</summary>
    public ServiceFingerprint? ClientService { get; private set; }

    private void IdentifyService(bool fromClient, ReadOnlySpan<byte> data, int frame)
    {
        if (fromClient)
        {
            if (Request is null && ClientService is null && ServiceFingerprints.Identify(data) is { Kind: not ServiceKind.Rdp } client)
            {
                ClientService = client;
            }

            return;
        }

        if (Confirm is null && ServerService is null && ServiceFingerprints.Identify(data) is { Kind: not ServiceKind.Rdp } server)
        {
            ServerService = server;
            ServerServiceFrame = frame;
        }
    }

    // TLS.
    public TlsClientHello? ClientHello { get; private set; }
    public TlsServerHello? ServerHello { get; private set; }
    public int? ClientHelloFrame { get; private set; }
    public int? ServerHelloFrame { get; private set; }
    public string? CertificateSubject { get; private set; }
    public string? CertificateIssuer { get; private set; }

    /// <summary>The server certificate's facts (TLS 1.2 and older send it in clear; TLS 1.3 encrypts it: null).</summary>
    public CertificateFacts? Certificate { get; private set; }
    public List<(int Frame, bool FromClient, TlsAlert? Alert, bool Inferred)> Alerts { get; } = [];
    public bool ClientCcs { get; private set; }
    public bool ServerCcs { get; private set; }
    public bool TlsDone { get; private set; }
    public bool Tls13 => ServerHello?.Version >= 0x0304;

    // Flights after the TLS handshake.
    /// <summary>The first flights after the TLS handshake (<c>MaxRecordedFlights</c>); empty until the first one.</summary>
    public IReadOnlyList<Flight> Flights => (IReadOnlyList<Flight>?)_flights ?? [];

    /// <summary>Made at the first flight, with room for all that are recorded (one array per connection).</summary>
    private List<Flight>? _flights;
    public int FlightCount { get; private set; }
    private bool _lastFlightFromClient;

    /// <summary>The latest flight (valid once <see cref="FlightCount"/> &gt; 0); <see cref="Flights"/> holds a copy when it is one of the first <c>MaxRecordedFlights</c>.</summary>
    private Flight _flight;
    private bool _flightRecorded;
    private bool _client13FinishedSeen;

    // Standard RDP Security.
    public uint? ClientEncryptionMethods { get; private set; }
    public uint? EncryptionMethod { get; private set; }
    public uint? EncryptionLevel { get; private set; }
    public int? McsResult { get; private set; }
    public string? LicensingResult { get; private set; }
    public bool SecurityExchangeSeen { get; private set; }
    public bool ClientInfoSeen { get; private set; }

    /// <summary>Furthest phase reached; null before the first event.</summary>
    public Phase? Current => _phases.Current;

    public bool SessionReached => _phases.SessionReached;

    private void Enter(Phase phase, int frame, bool inferred) => _phases.Enter(phase, frame, inferred);

    private void Touch(Phase phase, int frame) => _phases.Touch(phase, frame);
}
