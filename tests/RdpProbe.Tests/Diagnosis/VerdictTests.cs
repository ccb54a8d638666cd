using RdpProbe.Diagnosis;

namespace RdpProbe.Tests.Diagnosis;

public sealed class VerdictTests
{
    private static PhaseRecord Ok(Phase phase) => new(phase);

    private static PhaseRecord Failed(Phase phase, Ending ending, string? code = null)
    {
        var r = new PhaseRecord(phase);
        r.Fail(ending, code is null ? null : new Code(code), "exception text that must not matter");
        return r;
    }

    [Fact]
    public void First_failed_phase_decides()
    {
        var v = Verdict.From([Ok(Phase.Tcp), Failed(Phase.X224, Ending.NegotiationFailure, "hybrid_required_by_server"), Failed(Phase.SecurityMatrix, Ending.Timeout)]);
        Assert.False(v.Ok);
        Assert.Equal(Phase.X224, v.Phase);
        Assert.Equal(Ending.NegotiationFailure, v.Ending);
        Assert.Equal("hybrid_required_by_server", v.Code?.Word);
        Assert.Contains("Network Level Authentication", v.Summary);
        Assert.DoesNotContain("exception", v.Summary);
    }

    [Fact]
    public void All_ok_names_the_last_connection_phase_not_an_extra_check()
    {
        var v = Verdict.From([Ok(Phase.Tcp), Ok(Phase.X224), Ok(Phase.Tls), Ok(Phase.SecurityMatrix), Ok(Phase.TlsVersions)]);
        Assert.True(v.Ok);
        Assert.Equal(Phase.Tls, v.Phase);
        Assert.Equal(Ending.Ok, v.Ending);
        Assert.Null(v.Code);
    }

    [Fact]
    public void A_failed_extra_check_fails_the_verdict()
    {
        var v = Verdict.From([Ok(Phase.Tcp), Ok(Phase.X224), Failed(Phase.SecurityMatrix, Ending.Timeout)]);
        Assert.False(v.Ok);
        Assert.Equal(Phase.SecurityMatrix, v.Phase);
    }

    [Fact]
    public void Skipped_phases_are_neither_failures_nor_the_last_phase()
    {
        var skipped = new PhaseRecord(Phase.Tls);
        skipped.Skip("standard RDP security");
        var v = Verdict.From([Ok(Phase.Tcp), Ok(Phase.X224), skipped]);
        Assert.True(v.Ok);
        Assert.Equal(Phase.X224, v.Phase);
    }

    [Fact]
    public void No_phases_is_not_ok()
    {
        Assert.False(Verdict.From([]).Ok);
    }
}
