using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Analysis;

/// <summary>The grouping rules of <see cref="AttemptChains"/> on hand-made connections (times in seconds).</summary>
public sealed class AttemptChainGroupingTests
{
    private static AnalyzedConnection Conn(int frame, string client, double start, double end, bool ok, NegotiationFailureCode? failure = null, string server = "10.0.0.2:3389")
    {
        var verdict = new Verdict(ok, ok ? Phase.Capabilities : Phase.X224, ok ? Ending.Ok : Ending.NegotiationFailure, null, ok ? "ok" : "refused", [], []);
        return new AnalyzedConnection(client, server, frame, frame + 5, null, null,
            failure is null ? SecurityProtocols.Rdp : SecurityProtocols.Ssl | SecurityProtocols.Hybrid,
            failure is null ? SecurityProtocols.Rdp : null, failure, null, null, null, [], verdict.Phase, verdict.Ending, "client", [], verdict, "", false, 0, 0, 6)
        {
            StartMicros = (long)(start * 1e6),
            EndMicros = (long)(end * 1e6),
        };
    }

    [Fact]
    public void Refusal_then_success_within_the_window_is_one_chain_that_fell_back()
    {
        var r = AttemptChains.Build([Conn(1, "10.0.0.1:50000", 0, 0.1, false, NegotiationFailureCode.SslNotAllowedByServer), Conn(10, "10.0.0.1:50001", 4.9, 9, true)]);
        var chain = Assert.Single(r.Chains);
        Assert.True(chain.FellBack);
        Assert.Equal([(1, 0, true), (1, 1, false)], r.PerConnection.Select(p => p!.Value));
    }

    [Fact]
    public void Other_client_other_server_late_retry_or_a_success_before_do_not_chain()
    {
        var refused = NegotiationFailureCode.SslNotAllowedByServer;
        var r = AttemptChains.Build(
        [
            Conn(1, "10.0.0.1:50000", 0, 0.1, false, refused),
            Conn(10, "10.0.0.9:50001", 0.2, 1, true),                               // another client
            Conn(20, "10.0.0.1:50002", 0.3, 1, true, server: "10.0.0.3:3389"),     // another server
            Conn(30, "10.0.0.1:50003", 5.2, 6, true),                               // 5.1 s after the refusal ended
            Conn(40, "10.0.0.1:50004", 6.5, 7, false, refused),                     // follows a success: a new chain
        ]);
        Assert.Empty(r.Chains);
        Assert.All(r.PerConnection, p => Assert.Null(p));
    }

    [Fact]
    public void A_chain_whose_last_attempt_failed_is_not_ok_and_supersedes_nothing()
    {
        var refused = NegotiationFailureCode.HybridRequiredByServer;
        var r = AttemptChains.Build([Conn(1, "[::1]:50000", 0, 0.1, false, refused), Conn(10, "[::1]:50001", 0.2, 0.3, false, refused)]);
        var chain = Assert.Single(r.Chains);
        Assert.Equal(("[::1]", false, false), (chain.Client, chain.Ok, chain.FellBack));
        Assert.StartsWith("All 2 attempts failed", chain.Summary, StringComparison.Ordinal);
        Assert.All(r.PerConnection, p => Assert.False(p!.Value.Superseded));
    }
}
