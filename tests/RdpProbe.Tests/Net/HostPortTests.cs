using System.Net;
using RdpProbe.Net;

namespace RdpProbe.Tests.Net;

/// <summary>The one HOST[:PORT] parser: every accepted form, and every rejected form with its one-line reason.</summary>
public sealed class HostPortTests
{
    [Theory]
    [InlineData("srv", "srv", 3389, null)]
    [InlineData("srv:3390", "srv", 3390, null)]
    [InlineData("SRV-01.corp.example.com:1", "SRV-01.corp.example.com", 1, null)]
    [InlineData("my_host.", "my_host.", 3389, null)]
    [InlineData("10.0.0.5", "10.0.0.5", 3389, "10.0.0.5")]
    [InlineData("10.0.0.5:65535", "10.0.0.5", 65535, "10.0.0.5")]
    [InlineData("[::1]", "::1", 3389, "::1")]
    [InlineData("[::1]:3389", "::1", 3389, "::1")]
    [InlineData("[2001:db8::10:20]:443", "2001:db8::10:20", 443, "2001:db8::10:20")]
    [InlineData("[::1:3389]", "::1:3389", 3389, "::1:3389")]
    [InlineData("::1", "::1", 3389, "::1")]
    [InlineData("fe80::1", "fe80::1", 3389, "fe80::1")]
    [InlineData("2001:db8::abcd", "2001:db8::abcd", 3389, "2001:db8::abcd")]
    [InlineData("2001:db8:0:0:0:0:0:3389", "2001:db8:0:0:0:0:0:3389", 3389, "2001:db8::3389")]
    [InlineData("::ffff:192.0.2.1", "::ffff:192.0.2.1", 3389, "::ffff:192.0.2.1")]
    [InlineData("  srv:7  ", "srv", 7, null)]
    public void Accepts(string input, string host, int port, string? address)
    {
        Assert.True(HostPort.TryParse(input, HostPort.DefaultPort, out var value, out string? error), error);
        Assert.Null(error);
        Assert.Equal(host, value.Host);
        Assert.Equal(port, value.Port);
        Assert.Equal(address is null ? null : IPAddress.Parse(address), value.Address);
    }

    [Fact]
    public void The_default_port_is_the_callers()
    {
        Assert.Equal(13389, HostPort.Parse("srv", 13389).Port);
        Assert.Equal(80, HostPort.Parse("srv:80", 13389).Port);
    }

    [Theory]
    [InlineData(null, "empty target: expected HOST[:PORT]")]
    [InlineData("", "empty target: expected HOST[:PORT]")]
    [InlineData("  ", "empty target: expected HOST[:PORT]")]
    [InlineData("srv:", "'' is not a port number (1-65535)")]
    [InlineData("srv:0", "'0' is not a port number (1-65535)")]
    [InlineData("srv:65536", "'65536' is not a port number (1-65535)")]
    [InlineData("srv:123456", "'123456' is not a port number (1-65535)")]
    [InlineData("srv:-1", "'-1' is not a port number (1-65535)")]
    [InlineData("srv:+80", "'+80' is not a port number (1-65535)")]
    [InlineData("srv: 80", "' 80' is not a port number (1-65535)")]
    [InlineData(":3389", "':3389': missing host")]
    [InlineData("[::1", "'[::1': missing ']' after the IPv6 address")]
    [InlineData("[::1]3389", "'[::1]3389': expected ':PORT' after ']'")]
    [InlineData("[::1]:", "'' is not a port number (1-65535)")]
    [InlineData("[srv]:3389", "'srv' is not an IPv6 address")]
    [InlineData("[127.0.0.1]:3389", "'127.0.0.1' is not an IPv6 address")]
    [InlineData("1:2:3", "'1:2:3': an IPv6 address with a port must be written [ADDRESS]:PORT")]
    [InlineData("srv:1:2", "'srv:1:2': an IPv6 address with a port must be written [ADDRESS]:PORT")]
    [InlineData("::1:3389", "'::1:3389' is ambiguous: write [::1]:3389 for port 3389, or [::1:3389] for that address")]
    [InlineData("2001:db8::1:443", "'2001:db8::1:443' is ambiguous: write [2001:db8::1]:443 for port 443, or [2001:db8::1:443] for that address")]
    [InlineData("1.2.3", "'1.2.3' is not a valid IPv4 address")]
    [InlineData("10", "'10' is not a valid IPv4 address")]
    [InlineData("300.1.1.1", "'300.1.1.1' is not a valid IPv4 address")]
    [InlineData("a..b", "'a..b' is not a valid host name")]
    [InlineData("-srv", "'-srv' is not a valid host name")]
    [InlineData("srv-", "'srv-' is not a valid host name")]
    [InlineData("srv name", "'srv name' is not a valid host name")]
    [InlineData("srv/x", "'srv/x' is not a valid host name")]
    public void Rejects_with_one_line(string? input, string expected)
    {
        Assert.False(HostPort.TryParse(input, HostPort.DefaultPort, out var value, out string? error));
        Assert.Equal(default, value);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Labels_longer_than_63_and_names_longer_than_253_are_rejected()
    {
        Assert.False(HostPort.TryParse(new string('a', 64) + ".example", 3389, out _, out _));
        Assert.True(HostPort.TryParse(new string('a', 63) + ".example", 3389, out _, out _));
        Assert.False(HostPort.TryParse(string.Join('.', Enumerable.Repeat(new string('a', 60), 5)), 3389, out _, out _));
    }

    [Fact]
    public void Long_input_is_shortened_in_the_error()
    {
        Assert.False(HostPort.TryParse(new string('x', 300) + ":1:2", 3389, out _, out string? error));
        Assert.True(error!.Length < 200, error);
    }

    [Theory]
    [InlineData("srv", "srv:3389")]
    [InlineData("10.0.0.5:1", "10.0.0.5:1")]
    [InlineData("::1", "[::1]:3389")]
    [InlineData("[2001:db8::1]:443", "[2001:db8::1]:443")]
    public void ToString_round_trips(string input, string expected)
    {
        var value = HostPort.Parse(input);
        Assert.Equal(expected, value.ToString());
        Assert.Equal(value, HostPort.Parse(value.ToString()));
    }

    [Fact]
    public void Parse_throws_the_reason()
        => Assert.Equal("'0' is not a port number (1-65535)", Assert.Throws<FormatException>(() => HostPort.Parse("srv:0")).Message);
}
