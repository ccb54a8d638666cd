using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class ClientInfoTests
{
    [Fact]
    public void With_a_password_it_is_an_autologon()
    {
        var info = ClientInfo.Encode("LAB", "probe", "Passw0rd!");
        var (flags, domain, user, passwordBytes) = ClientInfo.Describe(info);
        Assert.Equal(("LAB", "probe", 18), (domain, user, passwordBytes));
        Assert.True(flags.HasFlag(ClientInfoFlags.Autologon));
        Assert.True(flags.HasFlag(ClientInfoFlags.Unicode));
        Assert.True(flags.HasFlag(ClientInfoFlags.LogonErrors));

        // TS_INFO_PACKET: cbDomain 6, domain UTF-16 + NUL right after the 18-byte fixed part.
        Assert.Equal(6, BitConverter.ToUInt16(info, 8));
        Assert.Equal(Encoding.Unicode.GetBytes("LAB\0"), info[18..26]);
    }

    [Fact]
    public void Without_a_password_there_is_none_inside()
    {
        var info = ClientInfo.Encode("LAB", "probe", null);
        var (flags, _, _, passwordBytes) = ClientInfo.Describe(info);
        Assert.Equal(0, passwordBytes);
        Assert.False(flags.HasFlag(ClientInfoFlags.Autologon));
        Assert.DoesNotContain("Passw0rd", Encoding.Unicode.GetString(info), StringComparison.Ordinal);
    }
}
