using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Protocol;

public sealed class NtlmTests
{
    private static string U(string s) => Convert.ToHexString(Encoding.Unicode.GetBytes(s));

    private static string Av(int id, string valueHex) => $"{id:X2}00" + $"{valueHex.Length / 2:X2}00" + valueHex;

    // 2026-01-02 03:04:05 UTC as a FILETIME, little-endian.
    internal static readonly DateTimeOffset FixtureTime = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string TimestampHex()
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, FixtureTime.ToFileTime());
        return Convert.ToHexString(b);
    }

    // AV pairs (MS-NLMP 2.2.2.1): NbDomain LAB, NbComputer SRV, DnsDomain lab.local, DnsComputer srv.lab.local,
    // DnsTree lab.local, Timestamp, EOL.
    internal static readonly string TargetInfoHex =
        Av(2, U("LAB")) + Av(1, U("SRV")) + Av(4, U("lab.local")) + Av(3, U("srv.lab.local")) + Av(5, U("lab.local")) +
        Av(7, TimestampHex()) + "00000000";

    // CHALLENGE (MS-NLMP 2.2.1.2): header, TargetNameFields (6 bytes at 56), flags 0xE2898215, challenge
    // 0123456789abcdef, reserved, TargetInfoFields (at 62), VERSION 10.0.20348 rev 15, then the payload.
    internal static readonly byte[] Challenge = Convert.FromHexString(
        "4E544C4D53535000" + "02000000" +
        "0600" + "0600" + "38000000" +
        "158289E2" +
        "0123456789ABCDEF" +
        "0000000000000000" +
        $"{TargetInfoHex.Length / 2:X2}00" + $"{TargetInfoHex.Length / 2:X2}00" + "3E000000" +
        "0A00" + "7C4F" + "000000" + "0F" +
        U("LAB") +
        TargetInfoHex);

    [Fact]
    public void Negotiate_is_40_bytes_with_windows_flags_and_version()
    {
        var message = NtlmNegotiate.Encode();
        Assert.Equal(40, message.Length);
        Assert.Equal(0xE20882B7u, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(12)));
        Assert.Equal("10.0.20348", NtlmVersion.Read(message.AsSpan(32)).ProductVersion);
    }

    [Fact]
    public void Reads_every_fact_of_the_challenge()
    {
        Assert.Equal(OperationStatus.Done, NtlmChallenge.TryRead(Challenge, out var c, out int used, out _));
        Assert.Equal(Challenge.Length, used);
        Assert.Equal("LAB", c!.TargetName);
        Assert.Equal("SRV", c.NbComputerName);
        Assert.Equal("LAB", c.NbDomainName);
        Assert.Equal("srv.lab.local", c.DnsComputerName);
        Assert.Equal("lab.local", c.DnsDomainName);
        Assert.Equal("lab.local", c.DnsTreeName);
        Assert.Equal("10.0.20348", c.Version!.Value.ProductVersion);
        Assert.Equal(20348, c.Version.Value.Build);
        Assert.Equal(FixtureTime, c.ServerTime);
        Assert.Equal((NtlmNegotiateFlags)0xE2898215, c.Flags);
        Assert.Equal(Convert.FromHexString("0123456789ABCDEF"), c.ServerChallenge);
        Assert.Equal(Challenge, c.Raw);
        Assert.Equal(Convert.FromHexString(TargetInfoHex), c.TargetInfo);
    }

    [Fact]
    public void Writes_what_it_reads()
    {
        Assert.Equal(OperationStatus.Done, NtlmChallenge.TryRead(Challenge, out var c, out _, out _));
        var written = NtlmChallenge.Encode(c!.Flags, c.ServerChallenge, c.TargetName, c.AvPairs, c.Version);
        Assert.Equal(Challenge, written);
    }

    [Fact]
    public void Every_prefix_needs_more_data()
    {
        for (int i = 0; i < Challenge.Length; i++)
        {
            Assert.Equal(OperationStatus.NeedMoreData, NtlmChallenge.TryRead(Challenge.AsSpan(0, i), out var value, out int used, out _));
            Assert.Equal(0, used);
            Assert.Null(value);
        }
    }

    public static TheoryData<string, byte[], DecodeError> Malformed()
    {
        byte[] With(Action<byte[]> change)
        {
            var copy = (byte[])Challenge.Clone();
            change(copy);
            return copy;
        }

        return new()
        {
            { "not NTLMSSP", With(b => b[0] = (byte)'X'), DecodeError.UnexpectedType },
            { "AUTHENTICATE where CHALLENGE was expected", With(b => b[8] = 3), DecodeError.UnexpectedType },
            { "target info points into the header", With(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(44), 8)), DecodeError.BadValue },
            { "absurd target info length", With(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(40), 0xFFFF)), DecodeError.LengthTooLarge },
            { "AV pair longer than target info", With(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(62 + 2), 0x4000)), DecodeError.LengthMismatch },
            { "target info without MsvAvEOL", With(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(40), (ushort)(TargetInfoHex.Length / 2 - 4))), DecodeError.Truncated },
        };
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_challenge_is_invalid_with_a_reason(string why, byte[] bytes, DecodeError expected)
    {
        Assert.Equal(OperationStatus.InvalidData, NtlmChallenge.TryRead(bytes, out var value, out int used, out var error));
        Assert.Null(value);
        Assert.Equal(0, used);
        Assert.True(expected == error, $"{why}: expected {expected}, got {error}");
    }
}
