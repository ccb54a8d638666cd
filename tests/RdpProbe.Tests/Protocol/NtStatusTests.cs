using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class NtStatusTests
{
    [Theory]
    [InlineData(0xC000006Du, "status_logon_failure")]
    [InlineData(0xC000006Au, "status_wrong_password")]
    [InlineData(0xC0000064u, "status_no_such_user")]
    [InlineData(0xC000006Eu, "status_account_restriction")]
    [InlineData(0xC0000071u, "status_password_expired")]
    [InlineData(0xC0000072u, "status_account_disabled")]
    [InlineData(0xC0000193u, "status_account_expired")]
    [InlineData(0xC0000224u, "status_password_must_change")]
    [InlineData(0xC0000234u, "status_account_locked_out")]
    [InlineData(0xC000015Bu, "status_logon_type_not_granted")]
    [InlineData(0xC0000022u, "status_access_denied")]
    public void Names_the_codes_of_protocol_md_4_4(uint code, string name)
    {
        Assert.Equal(name, NtStatus.Name(code));
        Assert.NotEqual("an NTSTATUS this probe does not know", NtStatus.Meaning(code));
    }

    [Fact]
    public void Unknown_codes_keep_their_number()
        => Assert.Equal("ntstatus_0xc0001234", NtStatus.Name(0xC0001234));

    [Fact]
    public void Every_known_code_has_a_meaning_and_a_lower_case_name()
    {
        foreach (uint code in NtStatus.KnownCodes)
        {
            Assert.StartsWith("status_", NtStatus.Name(code), StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(NtStatus.Meaning(code)));
        }
    }
}
