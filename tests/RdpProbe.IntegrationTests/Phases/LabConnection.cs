using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;
using RdpProbe.Protocol;

namespace RdpProbe.IntegrationTests.Phases;

/// <summary>
/// The part of a connection that the probe engine owns (TCP, X.224, TLS), done minimally here so the phase functions
/// can be driven against the real lab servers on their own: X.224 with the codec, TLS with BouncyCastle's client.
/// </summary>
internal sealed class LabConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly TlsClientProtocol? _tls;

    private LabConnection(TcpClient tcp, Stream stream, SecurityProtocols selected, byte[]? subjectPublicKey, TlsClientProtocol? tls)
    {
        _tcp = tcp;
        Stream = stream;
        Selected = selected;
        SubjectPublicKey = subjectPublicKey ?? [];
        _tls = tls;
    }

    /// <summary>The TLS stream, or the raw TCP stream for standard RDP security.</summary>
    public Stream Stream { get; }

    public SecurityProtocols Selected { get; }

    /// <summary>BIT STRING content of the server certificate's SubjectPublicKeyInfo (what CredSSP binds to).</summary>
    public byte[] SubjectPublicKey { get; }

    public static async Task<LabConnection> OpenAsync(IPEndPoint server, SecurityProtocols requested, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(server, ct);
            var network = tcp.GetStream();
            var request = new X224ConnectionRequest("probe", null, new NegotiationMessage(NegotiationType.Request, 0, (uint)requested), null);
            await network.WriteAsync(X224.EncodeConnectionRequest(request), ct);

            var header = new byte[4];
            await network.ReadExactlyAsync(header, ct);
            var frame = new byte[(header[2] << 8) | header[3]];
            header.CopyTo(frame, 0);
            await network.ReadExactlyAsync(frame.AsMemory(4), ct);
            if (X224.TryReadConnectionConfirm(frame, out var confirm, out _, out var error) != OperationStatus.Done)
            {
                throw new InvalidOperationException($"no X.224 Connection Confirm from {server}: {error}");
            }

            if (confirm!.IsFailure)
            {
                throw new InvalidOperationException($"{server} refused the negotiation: {confirm.FailureCode}");
            }

            var selected = confirm.SelectedProtocol ?? SecurityProtocols.Rdp;
            if (selected == SecurityProtocols.Rdp)
            {
                return new LabConnection(tcp, network, selected, null, null);
            }

            var client = new AnyCertificateClient(new BcTlsCrypto());
            var protocol = new TlsClientProtocol(network);
            await Task.Run(() => protocol.Connect(client), ct).WaitAsync(ct);
            return new LabConnection(tcp, protocol.Stream, selected, client.SubjectPublicKey, protocol);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            _tls?.Close();
        }
        catch (IOException)
        {
            // The server may already be gone; nothing to tell it.
        }

        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A TLS client that accepts any certificate and remembers the leaf's public key (the lab's are self-signed).</summary>
    private sealed class AnyCertificateClient(BcTlsCrypto crypto) : DefaultTlsClient(crypto)
    {
        public byte[]? SubjectPublicKey { get; private set; }

        public override TlsAuthentication GetAuthentication() => new Authentication(this);

        private sealed class Authentication(AnyCertificateClient owner) : TlsAuthentication
        {
            public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
            {
                var leaf = serverCertificate.Certificate.GetCertificateAt(0).GetEncoded();
                var structure = Org.BouncyCastle.Asn1.X509.X509CertificateStructure.GetInstance(leaf);
                owner.SubjectPublicKey = structure.SubjectPublicKeyInfo.PublicKey.GetOctets();
            }

            public TlsCredentials? GetClientCredentials(CertificateRequest certificateRequest) => null;
        }
    }
}
