using System.Text.Json;
using RdpProbe.Probe;
using RdpProbe.Runs;

namespace RdpProbe.Tests.NetPath;

public sealed class TargetsTests
{
    [Fact]
    public void Parses_hosts_ports_comments_and_ipv6()
    {
        const string file = """
            # office servers
            rdp1.example.com
            10.0.0.5:3390   # second listener

            [2001:db8::1]:3391
            2001:db8::2
            [::1]
            """;
        var list = Targets.Parse(new StringReader(file));

        Assert.Empty(list.Errors);
        Assert.Equal(
            [("rdp1.example.com", 3389, 2), ("10.0.0.5", 3390, 3), ("2001:db8::1", 3391, 5), ("2001:db8::2", 3389, 6), ("::1", 3389, 7)],
            list.Targets.Select(t => (t.Target.Host, t.Target.Port, t.Line)));
        Assert.Equal("[2001:db8::1]:3391", list.Targets[2].ToString());
    }

    [Theory]
    [InlineData("host:0", "'0' is not a port number (1-65535)")]
    [InlineData("host:70000", "'70000' is not a port number (1-65535)")]
    [InlineData("host:abc", "'abc' is not a port number (1-65535)")]
    [InlineData("two hosts", "'two hosts' is not a valid host name")]
    [InlineData("[2001:db8::1", "'[2001:db8::1': missing ']' after the IPv6 address")]
    [InlineData("[2001:db8::1]x", "'[2001:db8::1]x': expected ':PORT' after ']'")]
    [InlineData("[nothost]:1", "'nothost' is not an IPv6 address")]
    [InlineData("a:b:c", "'a:b:c': an IPv6 address with a port must be written [ADDRESS]:PORT")]
    [InlineData(":3389", "':3389': missing host")]
    [InlineData("::1:3389", "'::1:3389' is ambiguous: write [::1]:3389 for port 3389, or [::1:3389] for that address")]
    public void Bad_lines_are_reported_with_their_number(string line, string reason)
    {
        var list = Targets.Parse(new StringReader("good.example\n" + line + "\n"));
        Assert.Single(list.Targets);
        var error = Assert.Single(list.Errors);
        Assert.Equal(2, error.Line);
        Assert.Equal(reason, error.Reason);
    }

    [Fact]
    public async Task A_thousand_targets_run_under_the_concurrency_limit_with_one_json_line_each()
    {
        var targets = Enumerable.Range(1, 1000).Select(i => new TargetSpec(ProbeTarget.Parse($"10.1.{i / 256}.{i % 256}"), i)).ToList();
        int inFlight = 0, maxInFlight = 0;
        async Task<string> Probe(TargetSpec t, CancellationToken ct)
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }

            await Task.Delay(2, ct);
            Interlocked.Decrement(ref inFlight);
            if (t.Line == 500)
            {
                throw new InvalidOperationException("probe blew up");
            }

            return "ok " + t.Target.Host;
        }

        var output = new StringWriter();
        int progress = 0;
        var results = await Targets.RunAsync(targets, Probe, 16, output,
            o => JsonSerializer.Serialize(new { target = o.Target.ToString(), report = o.Report, error = o.Error }),
            new Progress<(int Done, int Total)>(p => Interlocked.Exchange(ref progress, p.Done)));

        Assert.InRange(maxInFlight, 1, 16);
        Assert.Equal(targets.Select(t => t.Target.Host), results.Select(r => r.Target.Target.Host));
        Assert.Equal("probe blew up", results[499].Error);
        Assert.Equal("ok 10.1.0.1", results[0].Report);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1000, lines.Length);
        Assert.All(lines, l => JsonDocument.Parse(l).Dispose());
    }

    [Fact]
    public async Task Concurrency_is_bounded()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Targets.RunAsync<int>([], (_, _) => Task.FromResult(1), 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Targets.RunAsync<int>([], (_, _) => Task.FromResult(1), Targets.MaxConcurrency + 1));
    }
}
