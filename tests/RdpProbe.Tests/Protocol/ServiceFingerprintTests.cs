using System.Buffers;
using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

/// <summary>
/// ServiceFingerprints (issue 11): what a peer's first bytes identify. The byte strings are real answers recorded in
/// the lab (scripts/lab.sh base+11..13 with xfreerdp and openssl s_client): python's http.server answering an X.224
/// Connection Request with its HTTP/0.9-style error page, OpenSSH's identification string, OpenSSL s_server's
/// ServerHellos for TLS 1.2 and 1.3.
/// </summary>
public sealed class ServiceFingerprintTests
{
    /// <summary>python 3.11 http.server's answer to xfreerdp's Connection Request (a request line without "HTTP/x.y").</summary>
    private static readonly byte[] PythonErrorPage = Convert.FromHexString("3c21444f43545950452048544d4c3e0a3c68746d6c206c616e673d22656e223e0a202020203c686561643e0a20202020202020203c6d65746120636861727365743d227574662d38223e0a20202020202020203c7469746c653e4572726f7220726573706f6e73653c2f7469746c653e0a202020203c2f686561643e0a202020203c626f64793e0a20202020202020203c68313e4572726f7220726573706f6e73653c2f68313e0a20202020202020203c703e4572726f7220636f64653a203430303c2f703e0a20202020202020203c703e4d6573736167653a2042616420485454502f302e39207265717565737420747970652028275c7830335c7830305c7830302b26616d703bc3a05c7830305c7830305c7830305c7830305c783030436f6f6b69653a27292e3c2f703e0a20202020202020203c703e4572726f7220636f6465206578706c616e6174696f6e3a20343030202d2042616420726571756573742073796e746178206f7220756e737570706f72746564206d6574686f642e3c2f703e0a202020203c2f626f64793e0a3c2f68746d6c3e0a");

    /// <summary>OpenSSL 3.0 s_server's TLS 1.2 ServerHello record (ECDHE-RSA-AES256-GCM-SHA384, 0xc030).</summary>
    private static readonly byte[] ServerHello12 = Convert.FromHexString("16030300410200003d0303ce79fccdda55cbfca38c4c7f38037eb24e823866b60e443a444f574e4752440100c030000015ff01000100000b0004030001020023000000170000");

    /// <summary>OpenSSL 3.0 s_server's TLS 1.3 ServerHello record (TLS_AES_256_GCM_SHA384, supported_versions 0x0304).</summary>
    private static readonly byte[] ServerHello13 = Convert.FromHexString("160303007a0200007603033f0648ade0e87a46cc05109c550915f3a282c081f2a6ec9f4d97cb5c8a85fe07204822d19a8e9734f73611c6588c63edc9106a125d4da4c504cebaad2380349b9c130200002e002b0002030400330024001d0020df4cde394e05df9ae8f676a027b63d05d4cfd07b38bfd5f5cefd2cebc374fe07");

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    public static TheoryData<string, byte[], ServiceKind, string?> Complete => new()
    {
        { "python http.server error page", PythonErrorPage, ServiceKind.Http, "python http.server, judged by its error page" },
        { "http status with server header", Ascii("HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nDate: x\r\n\r\n<html>"), ServiceKind.Http, "SimpleHTTP/0.6 Python/3.11.2" },
        { "http status without server header", Ascii("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"), ServiceKind.Http, null },
        { "http request", Ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ServiceKind.Http, null },
        { "openssh banner", Ascii("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\r\n"), ServiceKind.Ssh, "OpenSSH_9.2p1 Debian-2+deb12u10" },
        { "ssh 1.99 banner", Ascii("SSH-1.99-Cisco-1.25\r\n"), ServiceKind.Ssh, "Cisco-1.25" },
        { "tls 1.2 server hello", ServerHello12, ServiceKind.Tls, "tls1.2, " + TlsHandshake.CipherSuiteName(0xc030) },
        { "tls 1.3 server hello", ServerHello13, ServiceKind.Tls, "tls1.3, " + TlsHandshake.CipherSuiteName(0x1302) },
        { "tls alert", Convert.FromHexString("15030100020246"), ServiceKind.Tls, null },
        { "tls application data", Convert.FromHexString("1703030010"), ServiceKind.Tls, null },
        { "smtp", Ascii("220 mail.example.com ESMTP Postfix\r\n"), ServiceKind.Smtp, null },
        { "ftp", Ascii("220 (vsFTPd 3.0.3)\r\n"), ServiceKind.Ftp, null },
        { "220 unnamed", Ascii("220 ready\r\n"), ServiceKind.TextBanner, "a 220 \"service ready\" greeting (SMTP or FTP)" },
        { "pop3", Ascii("+OK Dovecot ready.\r\n"), ServiceKind.Pop3, null },
        { "imap", Ascii("* OK [CAPABILITY IMAP4rev1] ready\r\n"), ServiceKind.Imap, null },
        { "other text", Ascii("RFB 003.008\n"), ServiceKind.TextBanner, null },
        { "x224 connection confirm", Convert.FromHexString("030000130ED00000123400021F080008000000"), ServiceKind.Rdp, null },
    };

    [Theory]
    [MemberData(nameof(Complete))]
    public void Identifies_the_service(string what, byte[] data, ServiceKind kind, string? product)
    {
        var status = ServiceFingerprints.TryRead(data, out var value, out int consumed);
        Assert.True(status == OperationStatus.Done, $"{what}: {status}");
        Assert.NotNull(value);
        Assert.Equal(kind, value.Kind);
        Assert.Equal(product, value.Product);
        Assert.InRange(consumed, 1, data.Length);
        Assert.False(string.IsNullOrWhiteSpace(value.Evidence));
        Assert.Equal(kind, ServiceFingerprints.Identify(data)!.Kind);
    }

    /// <summary>Every proper prefix of a complete answer asks for more (never a wrong Done, never InvalidData), the
    /// property the live reader's loop relies on to stop at the right byte.</summary>
    [Theory]
    [MemberData(nameof(Complete))]
    public void Every_prefix_needs_more_data(string what, byte[] data, ServiceKind kind, string? product)
    {
        _ = kind;
        _ = product;
        ServiceFingerprints.TryRead(data, out _, out int consumed);
        for (int n = 0; n < consumed; n++)
        {
            var status = ServiceFingerprints.TryRead(data.AsSpan(0, n), out var value, out int used);
            Assert.True(status == OperationStatus.NeedMoreData, $"{what}: prefix of {n} bytes gave {status} ({value?.Evidence})");
            Assert.Equal(0, used);
            Assert.Null(value);
        }
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "binary", [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01] },
        { "tls type with wrong major", [0x16, 0x09, 0x01, 0x00, 0x05] },
        { "tls minor beyond 1.3", [0x16, 0x03, 0x09, 0x00, 0x05] },
        { "tls record of length 0", [0x16, 0x03, 0x03, 0x00, 0x00] },
        { "tls record too long", [0x16, 0x03, 0x03, 0xFF, 0xFF] },
        { "tls alert with bad level", [0x15, 0x03, 0x03, 0x00, 0x02, 0x07, 0x28] },
        { "server hello longer than its record", Convert.FromHexString("16030300060200ffff0303") },
        { "server hello body cut inside the record", Convert.FromHexString("16030300080200000403030000") },
        { "tpkt with bad reserved byte", [0x03, 0x01, 0x00, 0x13, 0x0E, 0xD0] },
        { "tpkt length below minimum", [0x03, 0x00, 0x00, 0x04, 0x0E, 0xD0] },
        { "tpkt li beyond length", [0x03, 0x00, 0x00, 0x07, 0x0E, 0xD0, 0x00] },
        { "tpkt unknown tpdu", [0x03, 0x00, 0x00, 0x0B, 0x06, 0x10, 0, 0, 0, 0, 0] },
        { "ssh line too long", Ascii("SSH-2.0-" + new string('x', 300)) },
        { "ssh line end too late", Ascii("SSH-2.0-" + new string('x', 250) + "\r\n") },
        { "text line without end", Ascii(new string('a', ServiceFingerprints.MaxLine)) },
        { "empty line", Ascii("\r\n") },
        { "text then binary", [.. Ascii("220 x"), 0x00, 0x01] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_input_is_invalid(string what, byte[] data)
    {
        var status = ServiceFingerprints.TryRead(data, out var value, out int consumed);
        Assert.True(status == OperationStatus.InvalidData, $"{what}: {status} ({value?.Evidence})");
        Assert.Null(value);
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void Identify_names_a_cut_short_banner_by_its_start()
    {
        var ssh = ServiceFingerprints.Identify(Ascii("SSH-2.0-OpenSSH_9.2"));
        Assert.Equal(ServiceKind.Ssh, ssh!.Kind);
        Assert.Equal("OpenSSH_9.2", ssh.Product);
        var http = ServiceFingerprints.Identify(Ascii("HTTP/1.1 200 OK\r\nServer: nginx\r\n"));
        Assert.Equal(ServiceKind.Http, http!.Kind);
        Assert.Equal("nginx", http.Product);
        Assert.Equal(ServiceKind.Tls, ServiceFingerprints.Identify(ServerHello13.AsSpan(0, 20))!.Kind);
        Assert.Equal(ServiceKind.Http, ServiceFingerprints.Identify(PythonErrorPage.AsSpan(0, 100))!.Kind);
        Assert.Null(ServiceFingerprints.Identify([0xDE, 0xAD]));
        Assert.Null(ServiceFingerprints.Identify([]));
        Assert.Null(ServiceFingerprints.Identify(Ascii("ab")));
    }

    [Fact]
    public void Evidence_is_printable_and_bounded_whatever_the_peer_sends()
    {
        // A Server header past the first 64 bytes (which decide "text") carrying a terminal escape and 200 characters.
        byte[] hostile = Ascii("HTTP/1.1 200 OK\r\nDate: Tue, 01 Dec 2026 11:00:00 GMT\r\nX-Pad: " + new string('p', 40) + "\r\nServer: evil\u001b[31m" + new string('A', 200) + "\r\n\r\n");
        var value = ServiceFingerprints.Identify(hostile)!;
        Assert.Equal(ServiceKind.Http, value.Kind);
        Assert.StartsWith("evil.[31m", value.Product);
        Assert.DoesNotContain('\u001b', value.Product!);
        Assert.True(value.Product!.Length <= 60, value.Product);
        Assert.True(value.Evidence.Length < 120, value.Evidence);
    }

    [Fact]
    public void Only_the_first_max_examined_bytes_are_read()
    {
        // A status line followed by headers that never end: decided at MaxExamined, not by waiting for more.
        byte[] endless = Ascii("HTTP/1.1 200 OK\r\nServer: a\r\n" + new string('X', 2 * ServiceFingerprints.MaxExamined));
        Assert.Equal(OperationStatus.Done, ServiceFingerprints.TryRead(endless, out var value, out int consumed));
        Assert.Equal("a", value!.Product);
        Assert.Equal(ServiceFingerprints.MaxExamined, consumed);
    }
}
