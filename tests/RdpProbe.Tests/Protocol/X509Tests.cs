using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class X509Tests
{
    private static readonly DateTimeOffset NotBefore = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static CertificateRequest Request(string subject, RSA key)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("rdp.example.test");
        san.AddIpAddress(IPAddress.Parse("192.0.2.7"));
        request.CertificateExtensions.Add(san.Build());
        return request;
    }

    [Fact]
    public void Self_signed_server_certificate_yields_every_fact()
    {
        using var key = RSA.Create(2048);
        using var cert = Request("CN=rdp.example.test, O=Lab", key).CreateSelfSigned(NotBefore, NotBefore.AddDays(365));
        byte[] der = cert.RawData;

        Assert.True(X509.TryRead(der, out var summary));
        Assert.Equal("CN=rdp.example.test, O=Lab", summary.Subject);
        Assert.Equal(summary.Subject, summary.Issuer);
        Assert.Equal("rdp.example.test", summary.CommonName);
        Assert.Equal(["dns:rdp.example.test", "ip:192.0.2.7"], summary.SubjectAltNames);
        Assert.Equal(NotBefore, summary.NotBefore);
        Assert.Equal(NotBefore.AddDays(365), summary.NotAfter);
        Assert.True(summary.SelfSigned);
        Assert.Equal("rsa", summary.KeyAlgorithm);
        Assert.Equal(2048, summary.KeySize);
        Assert.Equal("sha256RSA", summary.SignatureAlgorithm);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(der)).ToLowerInvariant(), summary.Sha256);
        Assert.Equal(cert.SerialNumber.ToLowerInvariant(), summary.SerialNumber);

        // The BIT STRING contents of SubjectPublicKeyInfo: the PKCS#1 RSAPublicKey (MS-CSSP 3.1.5 binds exactly these).
        Assert.Equal(key.ExportRSAPublicKey(), summary.SubjectPublicKey);
    }

    [Fact]
    public void Certificate_issued_by_a_ca_is_not_self_signed()
    {
        using var caKey = RSA.Create(2048);
        using var ca = new CertificateRequest("CN=Lab CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(NotBefore, NotBefore.AddDays(3650));
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("O=No Common Name", ec, HashAlgorithmName.SHA256);
        using var leaf = leafRequest.Create(ca.SubjectName, X509SignatureGenerator.CreateForRSA(caKey, RSASignaturePadding.Pkcs1), NotBefore, NotBefore.AddDays(30), [1, 2, 3]);

        var summary = X509.Read(leaf.RawData);
        Assert.False(summary.SelfSigned);
        Assert.Equal("CN=Lab CA", summary.Issuer);
        Assert.Null(summary.CommonName);
        Assert.Empty(summary.SubjectAltNames);
        Assert.Equal("ec", summary.KeyAlgorithm);
        Assert.Equal(256, summary.KeySize);
        Assert.Equal("010203", summary.SerialNumber);
    }

    [Fact]
    public void Names_only_read_agrees_with_the_full_read()
    {
        using var key = RSA.Create(2048);
        using var cert = Request("CN=host", key).CreateSelfSigned(NotBefore, NotBefore.AddDays(1));
        Assert.True(X509.TryReadNames(cert.RawData, out string subject, out string issuer));
        var summary = X509.Read(cert.RawData);
        Assert.Equal((summary.Subject, summary.Issuer), (subject, issuer));
    }

    [Fact]
    public void Every_proper_prefix_and_garbage_is_not_a_certificate()
    {
        using var key = RSA.Create(1024);
        byte[] der = Request("CN=host", key).CreateSelfSigned(NotBefore, NotBefore.AddDays(1)).RawData;
        for (int length = 0; length < der.Length; length++)
        {
            Assert.False(X509.TryRead(der.AsSpan(0, length), out var summary));
            Assert.Null(summary);
            Assert.False(X509.TryReadNames(der.AsSpan(0, length), out _, out _));
        }

        Assert.False(X509.TryRead("HTTP/1.1 400 Bad Request"u8, out _));
        Assert.Throws<CryptographicException>(() => X509.Read([0x30, 0x03, 0x02, 0x01, 0x00]));
    }
}
