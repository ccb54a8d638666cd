using System.Buffers;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

/// <summary>
/// The Kerberos messages of the kerberos phase (RFC 4120 §5.4.1, §5.4.2, §5.9.1, §7.2.2). The replies are real: captured
/// from the lab's MIT KDC (scripts/kdc.sh, krb5-kdc 1.20) answering kinit and kvno over TCP, length prefix removed.
/// </summary>
public sealed class KerberosTests
{
    /// <summary>KDC_ERR_PREAUTH_REQUIRED for probe@RDPPROBE.TEST, with METHOD-DATA (ETYPE-INFO2 aes256, salt RDPPROBE.TESTprobe).</summary>
    internal static readonly byte[] PreauthRequired = Convert.FromHexString(
        "7E81EE3081EBA003020105A10302011EA411180F32303236313230313131343134345AA50502030DDB10A603020119A70F1B0D52445050524F42452E"
        + "54455354A8123010A003020101A10930071B0570726F6265A90F1B0D52445050524F42452E54455354AA223020A003020102A11930171B066B726274"
        + "67741B0D52445050524F42452E54455354AB101B0E4E45454445445F50524541555448AC5404523050300AA10402020088A20204003028A103020113"
        + "A221041F301D301BA003020112A1141B1252445050524F42452E5445535470726F62653009A103020102A2020400300DA10402020085A20504034D49"
        + "54");

    /// <summary>The AS-REP to kinit probe (ticket and enc-part aes256-cts-hmac-sha1-96).</summary>
    internal static readonly byte[] AsReply = Convert.FromHexString(
        "6B82034C30820348A003020105A10302010BA22C302A3028A103020113A221041F301D301BA003020112A1141B1252445050524F42452E5445535470"
        + "726F6265A30F1B0D52445050524F42452E54455354A4123010A003020101A10930071B0570726F6265A58201B2618201AE308201AAA003020105A10F"
        + "1B0D52445050524F42452E54455354A2223020A003020102A11930171B066B72627467741B0D52445050524F42452E54455354A382016C30820168A0"
        + "03020112A103020101A282015A0482015661B3AC2322FA023088186A1FEE2622D15B814CEDF6E209421450BF24A66A1C998085830C6718B7987DAE30"
        + "F6A6B32919FC82A816BD397D9E0DD8C664516488DE79C5E7B419FBB28D5D63956B6941615C34B5021A521C23319BF0070657C365989D2BDF0C25774D"
        + "893DFF81D9D4D8B7615ABAF48E259C9ED8D7C737D84DC3EBFC5D1F480E27A4392832778FD76C97B0009DD42250A8E983E3F2786CB4C74007F4DB2ED0"
        + "9285463AEC9555E4A962E1A481FCF07BBC3AB03FA2F948A82F0EFC855A52EEEE697D3361C937C2261D975B7800235D4221F0FF81EF1CF5316D2D72ED"
        + "95140C6CC21BD7E596A419514078CFAA7923A7569B8A27F78506B01B3074E412762AD9594D85EBCBE2FB946B2DAF3AF58EB4A9362700A38734B39772"
        + "1EE68AED63A0B47F43A67BD3E95FA3999E26D34D636121729F8F0BAF70E50B9AC356A7DA1E5183A1678641C59DF124C1636AD38C0AEA9E0D0F7F08A6"
        + "8201313082012DA003020112A282012404820120C9D2EC8A9E87A457AF28BEA400C6383085AF4855A899BD4E7812DDBB41D6DAAAA7794011FA8536C4"
        + "E1350C46324CFF3E8D385323B34206C521D7DEC949AC42DFE2B245E0C32C94B49D3ACBB0056A115A0B493A5C4D1350B544A8D22185072FB49BE1D2DF"
        + "73EF4DB7E96D1B44CEACB4F6F96A33EA849E8FB7702C479B4CAEC8FCFD96093AF6573BDA8F0C74F302379904065EB9B902D8D3C80C1652D1B98A86BE"
        + "4D1E52A554D8C673E2864E4ABA472332CDAC51581F1C649B94D6B435093F04D553E3EC3732CDEE85D8567B2B9146AFC62FA100F9DED7300AC2CEF3CB"
        + "75458DBB49EF16F352328F1ACAF1C513573AC85039D741FCBBA376247B15353A44A90D4FCB1EAD2F2E78EAFD0034263FFF4857FF83A68D3629EE3E94"
        + "82FB3319812E22FA");

    /// <summary>KDC_ERR_S_PRINCIPAL_UNKNOWN to the TGS-REQ for TERMSRV/app02.rdpprobe.test (not registered).</summary>
    internal static readonly byte[] ServerUnknown = Convert.FromHexString(
        "7E8201B7308201B3A003020105A10302011EA411180F32303236313230313131343134345AA50502030DDB11A603020107A70F1B0D52445050524F42"
        + "452E54455354A8123010A003020101A10930071B0570726F6265A90F1B0D52445050524F42452E54455354AA293027A003020101A120301E1B075445"
        + "524D5352561B1361707030322E72647070726F62652E74657374AB131B114C4F4F4B494E475F55505F534552564552AC8201100482010C3082010830"
        + "820104A10402020088A281FB0481F8A081F53081F2A081EF3081ECA003020112A281E40481E1F137C2547898E9A6578B50EA608C3911C313F662E109"
        + "A7ACE4481726588CE05809CE80DDE45FACF872446CBC2A9DCB1FB2FF3C79238B502FF05CEFB0A4D435BCB05D108095FC5F1E9B5EA67A6C3D2E20A33D"
        + "358A3FAEBAC53C93384CAC46C92EB7E3B22B3EFA5E9CA69518F0B340ECF972AEC68C2477981308E5D6874B7C232331F9DA3E4ECB7BA3BFDE2C71E1A6"
        + "7AFA92A3D247F7132D8C79B0920180A6232F9C364663CE7D9E165586E07925C6E2377F81599FE7CFBDD1086214FC56574D39D6E092C9BADF148B6ECD"
        + "7A7687140FAF50D2031CD3B4B9A72F667FBF386C6FA71B");

    /// <summary>KDC_ERR_C_PRINCIPAL_UNKNOWN to kinit nobody.</summary>
    internal static readonly byte[] ClientUnknown = Convert.FromHexString(
        "7E819B308198A003020105A10302011EA411180F32303236313230313131343134345AA50502030DDB13A603020106A70F1B0D52445050524F42452E"
        + "54455354A8133011A003020101A10A30081B066E6F626F6479A90F1B0D52445050524F42452E54455354AA223020A003020102A11930171B066B7262"
        + "7467741B0D52445050524F42452E54455354AB121B10434C49454E545F4E4F545F464F554E44");

    public static TheoryData<string> Vectors => new() { "preauth_required", "as_reply", "server_unknown", "client_unknown" };

    private static byte[] Vector(string name) => name switch
    {
        "preauth_required" => PreauthRequired,
        "as_reply" => AsReply,
        "server_unknown" => ServerUnknown,
        _ => ClientUnknown,
    };

    [Fact]
    public void Preauth_required_names_the_error_the_account_keys_and_the_kdc_clock()
    {
        Assert.Equal(OperationStatus.Done, Kerberos.TryReadReply(PreauthRequired, out var reply, out int consumed, out _));
        Assert.Equal(PreauthRequired.Length, consumed);
        var error = reply!.Error!;
        Assert.Equal(KerberosMessageType.Error, reply.Type);
        Assert.Equal(Kerberos.KdcErrPreauthRequired, error.ErrorCode);
        Assert.Equal("KDC_ERR_PREAUTH_REQUIRED", error.Name);
        Assert.Equal("RDPPROBE.TEST", error.Realm);
        Assert.Equal("krbtgt/RDPPROBE.TEST", error.ServiceName);
        Assert.Contains(Kerberos.PaEncTimestamp, error.PreauthTypes);
        Assert.Contains(Kerberos.PaEtypeInfo2, error.PreauthTypes);
        var key = Assert.Single(error.EtypeInfo);
        Assert.Equal(18, key.Etype);
        Assert.Equal("RDPPROBE.TESTprobe", key.Salt);
        // Captured on 2026-12-01: stime is that day, with microseconds from susec.
        Assert.Equal(new DateTime(2026, 12, 1), error.ServerTime.UtcDateTime.Date);
    }

    [Fact]
    public void As_reply_gives_the_clear_etypes_of_ticket_and_reply()
    {
        Assert.Equal(OperationStatus.Done, Kerberos.TryReadReply(AsReply, out var reply, out _, out _));
        Assert.Equal(KerberosMessageType.AsReply, reply!.Type);
        Assert.Null(reply.Error);
        Assert.Equal("RDPPROBE.TEST", reply.ClientRealm);
        Assert.Equal(18, reply.TicketEtype);
        Assert.Equal(18, reply.EncPartEtype);
    }

    [Theory]
    [InlineData("server_unknown", Kerberos.KdcErrSPrincipalUnknown, "KDC_ERR_S_PRINCIPAL_UNKNOWN")]
    [InlineData("client_unknown", Kerberos.KdcErrCPrincipalUnknown, "KDC_ERR_C_PRINCIPAL_UNKNOWN")]
    public void Other_kdc_errors_are_named(string vector, int code, string name)
    {
        Assert.Equal(OperationStatus.Done, Kerberos.TryReadReply(Vector(vector), out var reply, out _, out _));
        Assert.Equal(code, reply!.Error!.ErrorCode);
        Assert.Equal(name, reply.Error.Name);
        Assert.Empty(reply.Error.EtypeInfo);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Every_prefix_needs_more_data(string vector)
    {
        byte[] message = Vector(vector);
        for (int n = 0; n < message.Length; n++)
        {
            var status = Kerberos.TryReadReply(message.AsSpan(0, n), out var reply, out int consumed, out _);
            Assert.True(status == OperationStatus.NeedMoreData, $"prefix of {n} bytes gave {status}");
            Assert.Null(reply);
            Assert.Equal(0, consumed);
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Trailing_bytes_are_left_for_the_next_message(string vector)
    {
        byte[] message = [.. Vector(vector), 0x6B, 0x00];
        Assert.Equal(OperationStatus.Done, Kerberos.TryReadReply(message, out _, out int consumed, out _));
        Assert.Equal(message.Length - 2, consumed);
    }

    [Theory]
    [InlineData("30 03 02 01 05")]                 // a universal SEQUENCE, not an APPLICATION message
    [InlineData("7E 03 30 01 00")]                 // KRB-ERROR whose SEQUENCE is cut inside
    [InlineData("7E 00")]                          // empty KRB-ERROR
    [InlineData("7E 80 00 00")]                    // indefinite length is not DER
    [InlineData("7E 85 01 00 00 00 00")]           // five length octets
    [InlineData("7E 84 7F FF FF FF")]              // a length beyond the 64 kB bound
    [InlineData("7F 1E 00")]                       // high tag number form
    [InlineData("6A 03 30 01 00")]                 // an AS-REQ is not a reply
    [InlineData("61 03 30 01 00")]                 // a bare Ticket is not a reply
    public void Malformed_replies_are_invalid_data(string hex)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        Assert.Equal(OperationStatus.InvalidData, Kerberos.TryReadReply(bytes, out var reply, out int consumed, out _));
        Assert.Null(reply);
        Assert.Equal(0, consumed);
    }

    [Fact]
    public void A_changed_protocol_version_or_a_bad_susec_is_invalid()
    {
        // pvno [0] INTEGER 5 sits right after the two SEQUENCE headers: A0 03 02 01 05.
        byte[] pvno = (byte[])PreauthRequired.Clone();
        int at = pvno.AsSpan().IndexOf(new byte[] { 0xA0, 0x03, 0x02, 0x01, 0x05 });
        pvno[at + 4] = 4;
        Assert.Equal(OperationStatus.InvalidData, Kerberos.TryReadReply(pvno, out _, out _, out _));

        // susec [5] must be 0..999999.
        byte[] susec = (byte[])PreauthRequired.Clone();
        int s = susec.AsSpan().IndexOf(new byte[] { 0xA5 });
        Assert.True(s > 0);
        int len = susec[s + 3];
        for (int i = 0; i < len; i++)
        {
            susec[s + 4 + i] = i == 0 ? (byte)0x7F : (byte)0xFF;
        }

        Assert.Equal(OperationStatus.InvalidData, Kerberos.TryReadReply(susec, out _, out _, out _));
    }

    [Fact]
    public void Every_single_byte_change_of_a_reply_is_read_or_refused_without_an_exception()
    {
        foreach (byte[] message in new[] { PreauthRequired, ServerUnknown, ClientUnknown })
        {
            for (int i = 0; i < message.Length; i++)
            {
                byte[] changed = (byte[])message.Clone();
                changed[i] ^= 0xFF;
                var status = Kerberos.TryReadReply(changed, out var reply, out _, out _);
                Assert.True(status is OperationStatus.Done or OperationStatus.InvalidData or OperationStatus.NeedMoreData);
                Assert.Equal(status == OperationStatus.Done, reply is not null);
            }
        }
    }

    [Fact]
    public void The_as_request_is_an_application_10_message_with_the_asked_etypes()
    {
        byte[] request = Kerberos.EncodeAsRequest(new KerberosAsRequest("probe", "RDPPROBE.TEST", [18, 17], 12345, new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(0x6A, request[0]);
        var reader = new System.Formats.Asn1.AsnReader(request, System.Formats.Asn1.AsnEncodingRules.DER);
        var body = reader.ReadSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.Application, 10, true)).ReadSequence();
        Assert.False(reader.HasData);
        // pvno 5, msg-type 10, req-body [4]; no padata [3]: no pre-authentication.
        Assert.Equal(5, (int)body.ReadSequence(Ctx(1)).ReadInteger());
        Assert.Equal(10, (int)body.ReadSequence(Ctx(2)).ReadInteger());
        var reqBody = body.ReadSequence(Ctx(4)).ReadSequence();
        Assert.False(body.HasData);
        reqBody.ReadSequence(Ctx(0));
        reqBody.ReadSequence(Ctx(1));
        // realm [2] GeneralString (universal 27): 1B 0D "RDPPROBE.TEST".
        Assert.Equal([0x1B, 0x0D, .. "RDPPROBE.TEST"u8.ToArray()], reqBody.ReadSequence(Ctx(2)).ReadEncodedValue().ToArray());
        reqBody.ReadSequence(Ctx(3));
        Assert.Equal("20300101000000Z"u8.ToArray(), reqBody.ReadSequence(Ctx(5)).ReadEncodedValue().Span[2..].ToArray());
        Assert.Equal(12345, (int)reqBody.ReadSequence(Ctx(7)).ReadInteger());
        var etypes = reqBody.ReadSequence(Ctx(8)).ReadSequence();
        Assert.Equal(18, (int)etypes.ReadInteger());
        Assert.Equal(17, (int)etypes.ReadInteger());
        Assert.False(etypes.HasData);
    }

    [Theory]
    [InlineData("00 00 00 F1", OperationStatus.Done, 241)]
    [InlineData("00 00 F1", OperationStatus.NeedMoreData, 0)]
    [InlineData("", OperationStatus.NeedMoreData, 0)]
    [InlineData("80 00 00 F1", OperationStatus.InvalidData, 0)]   // the reserved high bit (RFC 4120 §7.2.2)
    [InlineData("00 00 00 00", OperationStatus.InvalidData, 0)]
    [InlineData("00 01 00 01", OperationStatus.InvalidData, 0)]   // beyond the 64 kB bound
    public void Tcp_record_marking(string hex, OperationStatus expected, int length)
    {
        byte[] bytes = Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));
        Assert.Equal(expected, Kerberos.TryReadTcpLength(bytes, out int messageLength, out _));
        Assert.Equal(length, messageLength);
        if (expected == OperationStatus.Done)
        {
            Assert.Equal(bytes, Kerberos.FrameForTcp(new byte[length])[..4]);
        }
    }

    [Fact]
    public void The_ticket_inside_the_as_reply_reads_on_its_own()
    {
        // The Ticket is the [5] of KDC-REP: find its APPLICATION 1 header.
        int at = AsReply.AsSpan().IndexOf(new byte[] { 0xA5, 0x82 }) + 4;
        Assert.Equal(0x61, AsReply[at]);
        Assert.Equal(OperationStatus.Done, Kerberos.TryReadTicket(AsReply.AsSpan(at), out int etype, out string? service, out _));
        Assert.Equal(18, etype);
        Assert.Equal("krbtgt/RDPPROBE.TEST@RDPPROBE.TEST", service);
        for (int n = 0; n < 40; n++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, Kerberos.TryReadTicket(AsReply.AsSpan(at, n), out _, out _, out _));
        }
    }

    [Theory]
    [InlineData(6, "KDC_ERR_C_PRINCIPAL_UNKNOWN")]
    [InlineData(14, "KDC_ERR_ETYPE_NOSUPP")]
    [InlineData(18, "KDC_ERR_CLIENT_REVOKED")]
    [InlineData(23, "KDC_ERR_KEY_EXPIRED")]
    [InlineData(24, "KDC_ERR_PREAUTH_FAILED")]
    [InlineData(37, "KRB_AP_ERR_SKEW")]
    [InlineData(99, "KRB_ERROR_99")]
    public void Error_names_follow_rfc_4120(int code, string name) => Assert.Equal(name, Kerberos.ErrorName(code));

    [Theory]
    [InlineData("aes256-cts", 18)]
    [InlineData("AES128-CTS-HMAC-SHA1-96", 17)]
    [InlineData("arcfour-hmac-md5", 23)]
    [InlineData("rc4-hmac", 23)]
    [InlineData("nonsense", null)]
    public void Etype_names_as_krb5_conf_spells_them(string name, int? etype) => Assert.Equal(etype, Kerberos.EtypeFromName(name));

    [Fact]
    public void Etype_policy_lists_parse_commas_and_spaces_once()
        => Assert.Equal([18, 17, 23], KdcLocator.ParseEtypes(["aes256-cts-hmac-sha1-96, aes128-cts", "rc4-hmac aes256-cts bogus"]));

    [Theory]
    [InlineData("kdc.example.com", "kdc.example.com", 88)]
    [InlineData("10.0.0.1:750", "10.0.0.1", 750)]
    [InlineData("[::1]:88", "::1", 88)]
    [InlineData("[fe80::1]", "fe80::1", 88)]
    public void Kdc_addresses_parse(string text, string host, int port)
    {
        var kdc = KdcLocator.Parse(text, "option");
        Assert.NotNull(kdc);
        Assert.Equal(host, kdc!.Host);
        Assert.Equal(port, kdc.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("kdc:0")]
    [InlineData("kdc:99999")]
    [InlineData("kdc:x")]
    [InlineData("[::1")]
    [InlineData("bad host name!")]
    public void Bad_kdc_addresses_are_refused(string text) => Assert.Null(KdcLocator.Parse(text, "option"));

    [Theory]
    [InlineData(432.4, "7 min 12 s")]
    [InlineData(-3.04, "-3 s")]
    [InlineData(-0.01, "0 s")]
    [InlineData(59.5, "1 min 0 s")]
    public void Skew_is_described_in_minutes_and_seconds(double seconds, string text) => Assert.Equal(text, KerberosPhase.DescribeSkew(seconds));

    private static System.Formats.Asn1.Asn1Tag Ctx(int n) => new(System.Formats.Asn1.TagClass.ContextSpecific, n, true);
}
