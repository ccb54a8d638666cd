using System.Net;
using RdpProbe.Probe;

namespace RdpProbe.Tests.Probe;

public sealed class ProbeTargetTests
{
    [Theory]
    [InlineData("srv", "srv", 3389, null)]
    [InlineData("srv:3390", "srv", 3390, null)]
    [InlineData("rdp.example.com:443", "rdp.example.com", 443, null)]
    [InlineData("127.0.0.1", "127.0.0.1", 3389, "127.0.0.1")]
    [InlineData("127.0.0.1:13389", "127.0.0.1", 13389, "127.0.0.1")]
    [InlineData("[::1]:3389", "::1", 3389, "::1")]
    [InlineData("[::1]", "::1", 3389, "::1")]
    [InlineData("::1", "::1", 3389, "::1")]
    [InlineData("[fe80::1:2]:65535", "fe80::1:2", 65535, "fe80::1:2")]
    [InlineData("  srv:1  ", "srv", 1, null)]
    [InlineData("my_host-01.corp.", "my_host-01.corp.", 3389, null)]
    public void Parses_valid_targets(string input, string host, int port, string? address)
    {
        Assert.True(ProbeTarget.TryParse(input, out var target, out string? error), error);
        Assert.Equal(host, target!.Host);
        Assert.Equal(port, target.Port);
        Assert.Equal(address is null ? null : IPAddress.Parse(address), target.Address);
        Assert.Equal(address is not null, target.IsLiteral);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("srv:", "port")]
    [InlineData("srv:0", "port")]
    [InlineData("srv:65536", "port")]
    [InlineData("srv:-1", "port")]
    [InlineData("srv:33a", "port")]
    [InlineData("srv:+80", "port")]
    [InlineData(":3389", "missing host")]
    [InlineData("[::1", "missing ']'")]
    [InlineData("[::1]3389", "expected ':PORT'")]
    [InlineData("[srv]:3389", "not an IPv6 address")]
    [InlineData("[127.0.0.1]:3389", "not an IPv6 address")]
    [InlineData("1:2:3", "[ADDRESS]:PORT")]
    [InlineData("::1:3389:x", "[ADDRESS]:PORT")]
    [InlineData("1.2.3", "not a valid IPv4")]
    [InlineData("300.1.1.1", "not a valid IPv4")]
    [InlineData("a..b", "not a valid host name")]
    [InlineData("-srv", "not a valid host name")]
    [InlineData("srv name", "not a valid host name")]
    [InlineData("srv/x", "not a valid host name")]
    public void Rejects_malformed_targets_with_one_line(string input, string expected)
    {
        Assert.False(ProbeTarget.TryParse(input, out var target, out string? error));
        Assert.Null(target);
        Assert.Contains(expected, error);
        Assert.DoesNotContain('\n', error!);
    }

    [Fact]
    public void Long_garbage_is_shortened_in_the_error()
    {
        string input = new string('x', 300) + ":1:2";
        Assert.False(ProbeTarget.TryParse(input, out _, out string? error));
        Assert.True(error!.Length < 200);
    }

    [Fact]
    public void Host_names_longer_than_253_are_rejected()
    {
        string name = string.Join('.', Enumerable.Repeat(new string('a', 60), 5));
        Assert.False(ProbeTarget.TryParse(name, out _, out _));
    }

    [Fact]
    public void ToString_brackets_ipv6()
    {
        Assert.Equal("[::1]:3389", ProbeTarget.Parse("::1").ToString());
        Assert.Equal("srv:3389", ProbeTarget.Parse("srv").ToString());
    }
}
