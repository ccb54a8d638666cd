using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class ErrorInfoTests
{
    [Theory]
    [InlineData(0x00000007u, "errinfo_server_denied_connection")]
    [InlineData(0x00000009u, "errinfo_server_insufficient_privileges")]
    [InlineData(0x0000000Au, "errinfo_server_fresh_credentials_required")]
    [InlineData(0x0000001Au, "errinfo_server_reboot")]
    [InlineData(0x00000101u, "errinfo_license_no_license_server")]
    [InlineData(0x0000010Au, "errinfo_license_no_remote_connections")]
    [InlineData(0x00000410u, "errinfo_cb_connection_error_invalid_settings")]
    [InlineData(0x000010D3u, "errinfo_connect_failed")]
    [InlineData(0x00001111u, "errinfo_security_data_too_short2")]
    [InlineData(0x00001126u, "errinfo_security_data_too_short23")]
    [InlineData(0x00001194u, "errinfo_encryption_package_mismatch")]
    [InlineData(0x00001196u, "errinfo_peer_disconnected")]
    [InlineData(0x0000BEEFu, "errinfo_0x0000beef")]
    public void Names(uint code, string name) => Assert.Equal(name, ErrorInfo.Name(code));

    [Fact]
    public void Zero_x7_means_the_server_refused()
        => Assert.Contains("refused the connection", ErrorInfo.Meaning(ErrorInfo.ServerDeniedConnection), StringComparison.Ordinal);

    [Fact]
    public void Every_code_of_protocol_md_4_1_is_known_with_a_meaning()
    {
        uint[] listed = [1, 2, 3, 4, 5, 6, 7, 9, 0xA, 0xB, 0xC, 0xF, 0x10, 0x11, 0x12, 0x17, 0x18, 0x19, 0x1A,
            0x400, 0x402, 0x404, 0x405, 0x406, 0x407, 0x408, 0x409, 0x410, 0x411, 0x412,
            0x100, 0x101, 0x102, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10A,
            0x10C9, 0x10CA, 0x10CB, 0x10CD, 0x10CE, 0x10CF, 0x10D0, 0x10D1, 0x10D2, 0x10D3, 0x10D4, 0x10D5, 0x10DA, 0x10DB, 0x10DC, 0x10DD,
            0x10DE, 0x10DF, 0x10E0, 0x10E1, 0x10E2, 0x10E3, 0x10E5, 0x10E7, 0x10E8, 0x10E9, 0x10EA, 0x10EC, 0x10ED, 0x10EF, 0x10F0, 0x10F3,
            0x10F4, 0x10F5, 0x10F6, 0x10F7, 0x10F8, 0x1129, 0x112A, 0x112B, 0x112C, 0x112D, 0x112E, 0x112F, 0x1130, 0x1131, 0x1132, 0x1133,
            0x1134, 0x1135, 0x1136, 0x1191, 0x1192, 0x1193, 0x1194, 0x1195, 0x1196];
        foreach (uint code in listed.Concat(Enumerable.Range(0x1111, 0x1126 - 0x1111 + 1).Select(c => (uint)c)))
        {
            Assert.True(ErrorInfo.IsKnown(code), $"0x{code:X}");
            Assert.NotEqual("a Set Error Info code this probe does not know", ErrorInfo.Meaning(code));
        }
    }
}
