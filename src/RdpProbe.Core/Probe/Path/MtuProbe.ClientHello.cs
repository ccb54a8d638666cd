using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tls;
using Org.BouncyCastle.Tls.Crypto.Impl.BC;

namespace RdpProbe.Probe.NetPath;

/// <summary>The padded ClientHello (RFC 7685 padding extension) the attempts send, built with BouncyCastle.</summary>
public static partial class MtuProbe
{
    /// <summary>Size of an unpadded ClientHello record from this client; padding is computed from it.</summary>
    internal static int MeasureNaturalClientHello()
    {
        var protocol = new TlsClientProtocol();
        protocol.Connect(new PaddedTlsClient(-1));
        return protocol.GetAvailableOutputBytes();
    }

    /// <summary>The ClientHello record a padding of <paramref name="padding"/> bytes produces (tests read it back).</summary>
    internal static byte[] BuildClientHello(int padding)
    {
        var protocol = new TlsClientProtocol();
        protocol.Connect(new PaddedTlsClient(padding));
        return Drain(protocol);
    }

    private static byte[] Drain(TlsClientProtocol protocol)
    {
        int available = protocol.GetAvailableOutputBytes();
        var output = new byte[available];
        protocol.ReadOutput(output, 0, available);
        return output;
    }

    /// <summary>A BouncyCastle client whose ClientHello carries an RFC 7685 padding extension of a chosen length.</summary>
    private sealed class PaddedTlsClient(int padding) : DefaultTlsClient(new BcTlsCrypto(new SecureRandom()))
    {
        public bool HandshakeComplete { get; private set; }

        public override IDictionary<int, byte[]> GetClientExtensions()
        {
            var extensions = base.GetClientExtensions() ?? new Dictionary<int, byte[]>();
            if (padding >= 0)
            {
                TlsExtensionsUtilities.AddPaddingExtension(extensions, padding);
            }

            return extensions;
        }

        // The path is being measured, not the server's identity: any certificate is fine here.
        public override TlsAuthentication GetAuthentication() => new AnyServerCertificate();

        public override void NotifyHandshakeComplete()
        {
            base.NotifyHandshakeComplete();
            HandshakeComplete = true;
        }
    }

    private sealed class AnyServerCertificate : TlsAuthentication
    {
        public void NotifyServerCertificate(TlsServerCertificate serverCertificate)
        {
        }

        public TlsCredentials GetClientCredentials(CertificateRequest certificateRequest) => null!;
    }
}
