using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Probe;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>
/// A scripted CredSSP server that speaks SPNEGO (issue 12), for what no RDP server installable here does: FreeRDP 2's
/// server and xrdp take no Kerberos in CredSSP. It answers the client's NegTokenInit the way a Windows server would in
/// each case: take Kerberos (the AP-REQ goes to MIT krb5's acceptor through <see cref="NegotiateAuthentication"/> with
/// the service key from a keytab — a real ticket from the lab KDC is checked for real), choose NTLM (the NTLM exchange
/// continues in NegTokenResp tokens and is checked from the password, independently of the client code), or reject.
/// </summary>
internal sealed class FakeSpnegoServer(int version, byte[] serverKey, string domain = "LAB", string user = "probe", string password = "Passw0rd!")
{
    public enum Answer
    {
        /// <summary>supportedMech Kerberos, the AP-REP and a mechListMIC; then pubKeyAuth and authInfo under the Kerberos key.</summary>
        TakeKerberos,

        /// <summary>accept-incomplete with supportedMech NTLM; NTLM follows inside SPNEGO.</summary>
        ChooseNtlm,

        /// <summary>negState reject.</summary>
        Reject,

        /// <summary>A raw NTLM CHALLENGE where a NegTokenResp belongs (a server that does not speak SPNEGO).</summary>
        RawNtlm,

        /// <summary>
        /// What FreeRDP 2's server really sends to any SPNEGO token (seen against the lab's shadow server): a TSRequest
        /// with errorCode 0xC00700EA, NTSTATUS_FROM_WIN32(ERROR_MORE_DATA) — its acceptor failed and nla.c wrapped a
        /// stale GetLastError.
        /// </summary>
        Win32ErrorCode,
    }

    /// <summary>The errorCode FreeRDP 2.11's shadow server answers a SPNEGO token with.</summary>
    public const uint FreeRdp2ErrorCode = 0xC00700EA;

    public Answer Mode { get; init; } = Answer.ChooseNtlm;

    /// <summary>The client's first token.</summary>
    public SpnegoInit? Init { get; private set; }

    /// <summary>Who the Kerberos acceptor says the client is (e.g. probe@RDPPROBE.TEST).</summary>
    public string? KerberosClient { get; private set; }

    public bool ClientMicVerified { get; private set; }

    public bool ClientProofVerified { get; private set; }

    public (TsCredentialType Type, string Domain, string User, string Password)? Delegated { get; private set; }

    private static readonly byte[] ServerChallenge = Convert.FromHexString("8877665544332211");

    /// <summary>The client's first token was a bare NTLM NEGOTIATE, no SPNEGO (Negotiate with NTLM the only mechanism left).</summary>
    public bool RawNtlmFirst { get; private set; }

    public async Task RunAsync(Stream s, CancellationToken ct)
    {
        var first = await ReadTsRequestAsync(s, ct);
        if (first.FirstNegoToken.AsSpan().StartsWith(Ntlm.Signature))
        {
            // A Windows server's Negotiate package takes a bare NTLM token too (it sniffs the NTLMSSP signature).
            RawNtlmFirst = true;
            await NtlmAsync(s, first.FirstNegoToken!, [], spnego: false, kerberosOffered: false, ct);
            return;
        }

        Assert.Equal(OperationStatus.Done, Spnego.TryRead(first.FirstNegoToken!, out var token, out _, out _));
        Init = token!.Init!;
        byte[] mechList = Spnego.EncodeMechTypeList(Init.MechTypes);
        bool kerberosOffered = SpnegoMechs.IsKerberos(Init.MechTypes[0]);

        switch (Mode)
        {
            case Answer.Reject:
                await s.WriteAsync(new TsRequest(version, [new SpnegoResp(SpnegoNegState.Reject).Encode()]).Encode(), ct);
                return;
            case Answer.RawNtlm:
                await s.WriteAsync(new TsRequest(version, [Challenge()]).Encode(), ct);
                return;
            case Answer.Win32ErrorCode:
                await s.WriteAsync(new TsRequest(version, [], ErrorCode: FreeRdp2ErrorCode).Encode(), ct);
                return;
            case Answer.TakeKerberos:
                Assert.True(kerberosOffered, "the client offered no Kerberos token");
                await TakeKerberosAsync(s, mechList, ct);
                return;
        }

        byte[] negotiate;
        if (kerberosOffered)
        {
            // RFC 4178 §3: the acceptor turns the optimistic token down by naming another offered mechanism.
            Assert.Contains(SpnegoMechs.Ntlm, Init.MechTypes);
            await s.WriteAsync(new TsRequest(version, [new SpnegoResp(SpnegoNegState.AcceptIncomplete, SpnegoMechs.Ntlm).Encode()]).Encode(), ct);
            var next = await ReadTsRequestAsync(s, ct);
            negotiate = ReadResp(next).ResponseToken!;
        }
        else
        {
            negotiate = Init.MechToken!;
        }

        await NtlmAsync(s, negotiate, mechList, spnego: true, kerberosOffered, ct);
    }

    /// <summary>The NTLM exchange from the CHALLENGE on, inside NegTokenResp tokens or bare.</summary>
    private async Task NtlmAsync(Stream s, byte[] negotiate, byte[] mechList, bool spnego, bool kerberosOffered, CancellationToken ct)
    {
        Assert.True(negotiate.AsSpan().StartsWith(Ntlm.Signature), "the NTLM NEGOTIATE is missing");
        byte[] challenge = spnego ? new SpnegoResp(SpnegoNegState.AcceptIncomplete, kerberosOffered ? null : SpnegoMechs.Ntlm, Challenge()).Encode() : Challenge();
        await s.WriteAsync(new TsRequest(version, [challenge]).Encode(), ct);

        var auth = await ReadTsRequestAsync(s, ct);
        var resp = spnego ? ReadResp(auth) : null;
        var message = spnego ? resp!.ResponseToken! : auth.FirstNegoToken!;
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 20, out var nt, out _));
        Assert.Equal(OperationStatus.Done, Ntlm.TryGetField(message, 52, out var encryptedKey, out _));
        var flags = (NtlmNegotiateFlags)BitConverter.ToUInt32(message, 60);

        // MS-NLMP 3.2.5.1.2: recompute NTProofStr from what the server knows; a wrong password ends in a close.
        byte[] responseKey = NtlmV2.Ntowfv2(password, user, domain);
        byte[] proof = NtlmV2.NtProofStr(responseKey, ServerChallenge, nt[16..]);
        if (!proof.AsSpan().SequenceEqual(nt[..16]))
        {
            // What FreeRDP and CredSSP v2 servers do with a wrong password: close without an errorCode.
            s.Close();
            return;
        }

        var session = new NtlmSession(NtlmV2.Rc4(NtlmV2.SessionBaseKey(responseKey, proof), encryptedKey), flags, asServer: true);

        // RFC 4178 §5 / MS-SPNG 3.3.5.1: the client's mechListMIC (sequence 0) before its pubKeyAuth (sequence 1).
        if (spnego)
        {
            ClientMicVerified = resp!.MechListMic is { } mic && session.Verify(mechList, mic);
            Assert.True(ClientMicVerified, "the client's mechListMIC does not verify");
        }

        Assert.True(session.TryUnseal(auth.PubKeyAuth!, out var clientValue));
        Assert.Equal(CredSspBinding.ClientValue(Math.Min(version, 6), serverKey, auth.ClientNonce ?? []), clientValue);
        ClientProofVerified = true;

        // The server's mechListMIC takes sequence number 0 in SPNEGO; bare NTLM seals the proof with it.
        byte[] serverMic = spnego ? session.Sign(mechList) : [];
        byte[] sealedProof = session.Seal(CredSspBinding.ServerValue(Math.Min(version, 6), serverKey, auth.ClientNonce ?? []));
        await s.WriteAsync((spnego
            ? new TsRequest(version, [new SpnegoResp(SpnegoNegState.AcceptCompleted, MechListMic: serverMic).Encode()], PubKeyAuth: sealedProof)
            : new TsRequest(version, [], PubKeyAuth: sealedProof)).Encode(), ct);

        var last = await ReadTsRequestAsync(s, ct);
        Assert.True(session.TryUnseal(last.AuthInfo!, out var credentials));
        Delegated = TsCredentials.DecodePassword(credentials);
    }

    private async Task TakeKerberosAsync(Stream s, byte[] mechList, CancellationToken ct)
    {
        // The acceptor finds the service key through KRB5_KTNAME (the test points it at a keytab for the SPN).
        using var acceptor = new NegotiateAuthentication(new NegotiateAuthenticationServerOptions { Package = "Kerberos" });
        byte[]? apRep = acceptor.GetOutgoingBlob(Init!.MechToken, out var status);
        Assert.True(status == NegotiateAuthenticationStatusCode.Completed, $"the acceptor refused the AP-REQ: {status}");
        KerberosClient = acceptor.RemoteIdentity.Name;

        var serverMic = new ArrayBufferWriter<byte>();
        acceptor.ComputeIntegrityCheck(mechList, serverMic);
        await s.WriteAsync(new TsRequest(version, [new SpnegoResp(SpnegoNegState.AcceptCompleted, Init.MechTypes[0], apRep, serverMic.WrittenSpan.ToArray()).Encode()]).Encode(), ct);

        var proofRequest = await ReadTsRequestAsync(s, ct);
        var resp = ReadResp(proofRequest);
        ClientMicVerified = resp.MechListMic is { } mic && acceptor.VerifyIntegrityCheck(mechList, mic);
        Assert.True(ClientMicVerified, "the client's mechListMIC does not verify");

        var clientValue = new ArrayBufferWriter<byte>();
        Assert.Equal(NegotiateAuthenticationStatusCode.Completed, acceptor.Unwrap(proofRequest.PubKeyAuth, clientValue, out bool encrypted));
        Assert.True(encrypted);
        Assert.Equal(CredSspBinding.ClientValue(Math.Min(version, 6), serverKey, proofRequest.ClientNonce ?? []), clientValue.WrittenSpan.ToArray());
        ClientProofVerified = true;

        var sealedProof = new ArrayBufferWriter<byte>();
        acceptor.Wrap(CredSspBinding.ServerValue(Math.Min(version, 6), serverKey, proofRequest.ClientNonce ?? []), sealedProof, true, out _);
        await s.WriteAsync(new TsRequest(version, [], PubKeyAuth: sealedProof.WrittenSpan.ToArray()).Encode(), ct);

        var last = await ReadTsRequestAsync(s, ct);
        var credentials = new ArrayBufferWriter<byte>();
        Assert.Equal(NegotiateAuthenticationStatusCode.Completed, acceptor.Unwrap(last.AuthInfo, credentials, out _));
        Delegated = TsCredentials.DecodePassword(credentials.WrittenSpan);
    }

    private static SpnegoResp ReadResp(TsRequest request)
    {
        Assert.Equal(OperationStatus.Done, Spnego.TryRead(request.FirstNegoToken!, out var token, out _, out _));
        return token!.Resp!;
    }

    private static byte[] Challenge() => NtlmChallenge.Encode((NtlmNegotiateFlags)0xE2898235, ServerChallenge, "LAB",
        [Ntlm.StringPair(NtlmAvId.NbDomainName, "LAB"), Ntlm.StringPair(NtlmAvId.NbComputerName, "APP01"),
         new(NtlmAvId.Timestamp, BitConverter.GetBytes(DateTimeOffset.UtcNow.ToFileTime()))],
        new NtlmVersion(10, 0, 20348, 15));

    /// <summary>Reads one TSRequest (tag and length first).</summary>
    public static async Task<TsRequest> ReadTsRequestAsync(Stream stream, CancellationToken ct)
    {
        var head = new List<byte>();
        int total;
        while (true)
        {
            var status = TsRequest.TryReadFrameLength(head.ToArray(), out _, out total, out _);
            if (status == OperationStatus.Done)
            {
                break;
            }

            Assert.Equal(OperationStatus.NeedMoreData, status);
            var one = new byte[1];
            await stream.ReadExactlyAsync(one, ct);
            head.Add(one[0]);
        }

        var rest = new byte[total - head.Count];
        await stream.ReadExactlyAsync(rest, ct);
        Assert.Equal(OperationStatus.Done, TsRequest.TryRead([.. head, .. rest], out var request, out _, out _));
        return request!;
    }
}

/// <summary>
/// One RDP connection on 127.0.0.1 up to CredSSP: X.224 Connection Confirm selecting HYBRID, a real TLS handshake
/// (SslStream, self-signed RSA certificate), then the CredSSP script over TLS. The probe engine connects to it as to
/// any server; the script's own assertions fail the test through <see cref="Completion"/>.
/// </summary>
internal sealed class SpnegoTlsServer : IAsyncDisposable
{
    private static readonly RSA Key = RSA.Create(2048);
    private static readonly X509Certificate2 Certificate = CreateCertificate();

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));

    private SpnegoTlsServer(Func<Stream, CancellationToken, Task> script)
    {
        _listener.Start(1);
        Completion = Task.Run(() => ServeAsync(script));
    }

    /// <summary>What CredSSP binds to (MS-CSSP 3.1.5): the certificate's PKCS#1 RSAPublicKey.</summary>
    public static byte[] PublicKey => Key.ExportRSAPublicKey();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Task Completion { get; }

    public static SpnegoTlsServer Start(Func<Stream, CancellationToken, Task> script) => new(script);

    /// <summary>A probe engine for <paramref name="host"/> that resolves every name to 127.0.0.1 (the SPN is TERMSRV/host).</summary>
    public static ProbeEngine Engine(AuthMechanism? auth, string? realm = null, KerberosOptions? kerberos = null) => new(new ProbeOptions
    {
        Kerberos = kerberos,
        PhaseTimeout = TimeSpan.FromSeconds(15),
        SecurityMatrix = false,
        TlsVersions = false,
        ClientSimulation = false,
        EncryptionLevels = false,
        SessionPhases = false,
        Auth = auth,
        Realm = realm,
        RequestedProtocols = SecurityProtocols.Ssl | SecurityProtocols.Hybrid,
    })
    {
        Resolver = (_, _) => Task.FromResult(new[] { IPAddress.Loopback }),
    };

    private async Task ServeAsync(Func<Stream, CancellationToken, Task> script)
    {
        using var socket = await _listener.AcceptSocketAsync(_stop.Token);
        await using var network = new NetworkStream(socket, ownsSocket: false);
        var header = new byte[4];
        await network.ReadExactlyAsync(header, _stop.Token);
        await network.ReadExactlyAsync(new byte[((header[2] << 8) | header[3]) - 4], _stop.Token);
        await network.WriteAsync(X224.EncodeConnectionConfirm(new X224ConnectionConfirm(0x1234, new NegotiationMessage(NegotiationType.Response, 0, (uint)SecurityProtocols.Hybrid))), _stop.Token);
        await using var tls = new SslStream(network, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate }, _stop.Token);
        await script(tls, _stop.Token);

        // Hold the connection until the probe hangs up, so its last read sees what was sent rather than a reset.
        try
        {
            var sink = new byte[4096];
            while (await tls.ReadAsync(sink, _stop.Token) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The script closed the connection itself, or the probe hung up.
        }
    }

    private static X509Certificate2 CreateCertificate()
    {
        var request = new CertificateRequest("CN=app01.rdpprobe.test", Key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or TimeoutException)
        {
        }

        _stop.Dispose();
    }
}
