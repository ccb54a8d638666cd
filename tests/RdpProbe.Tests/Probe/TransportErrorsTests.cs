using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;

namespace RdpProbe.Tests.Probe;

/// <summary>The one mapping from transport events to endings, and the runner that applies it to every phase.</summary>
public sealed class TransportErrorsTests
{
    public static TheoryData<Exception, Ending, string?> Mappings => new()
    {
        { new IOException("read", new SocketException((int)SocketError.ConnectionReset)), Ending.Reset, null },
        { new SocketException((int)SocketError.ConnectionAborted), Ending.Reset, null },
        { new SocketException((int)SocketError.ConnectionRefused), Ending.Refused, null },
        { new SocketException((int)SocketError.HostUnreachable), Ending.Unreachable, null },
        { new SocketException((int)SocketError.TimedOut), Ending.Timeout, null },
        { new EndOfStreamException(), Ending.Closed, null },
        { new IOException("broken pipe"), Ending.Closed, null },
        { new ObjectDisposedException("stream"), Ending.Closed, null },
        { new OperationCanceledException(), Ending.Timeout, null },
        { new TlsFatalAlertReceived(AlertDescription.handshake_failure), Ending.TlsAlert, "handshake_failure" },

        // The probe's own alert: the same ending as in the tls phase (TlsSession), named by the alert it sent.
        { new TlsFatalAlert(AlertDescription.bad_record_mac), Ending.TlsAlert, "bad_record_mac" },
        { new PhaseFailedException(Ending.NegotiationFailure, new Code("ssl_required_by_server"), "refused"), Ending.NegotiationFailure, "ssl_required_by_server" },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public void Each_transport_event_has_one_ending(Exception ex, Ending ending, string? code)
    {
        var failure = TransportErrors.Classify(ex, "waiting for the answer");
        Assert.NotNull(failure);
        Assert.Equal(ending, failure.Value.Ending);
        Assert.Equal(code, failure.Value.Code?.Word);
        if (ex is not PhaseFailedException)
        {
            Assert.EndsWith("waiting for the answer", failure.Value.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_users_cancellation_and_bugs_are_not_endings()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Null(TransportErrors.Classify(new OperationCanceledException(cts.Token), null, cts.Token));
        Assert.Null(TransportErrors.Classify(new InvalidOperationException("bug")));
        Assert.Null(TransportErrors.Classify(new IndexOutOfRangeException()));
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused, Ending.Refused, null)]
    [InlineData(SocketError.TimedOut, Ending.Timeout, null)]
    [InlineData(SocketError.HostUnreachable, Ending.Unreachable, "host_unreachable")]
    [InlineData(SocketError.NetworkDown, Ending.Unreachable, "network_unreachable")]
    [InlineData(SocketError.AccessDenied, Ending.Unreachable, "administratively_prohibited")]
    [InlineData(SocketError.ConnectionReset, Ending.Reset, null)]
    public void A_failed_connect_says_how_the_syn_was_answered(SocketError error, Ending ending, string? code)
    {
        var failure = TransportErrors.ClassifyConnect(error, "192.0.2.1:3389");
        Assert.Equal((ending, code), (failure.Ending, failure.Code?.Word));
        Assert.EndsWith("(192.0.2.1:3389)", failure.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Reset_is_found_anywhere_in_the_chain()
    {
        Assert.True(TransportErrors.IsReset(new IOException("outer", new IOException("inner", new SocketException((int)SocketError.ConnectionReset)))));
        Assert.False(TransportErrors.IsReset(new IOException("closed")));
    }

    [Fact]
    public async Task The_runner_records_a_timeout_where_the_phase_stopped()
    {
        var record = new PhaseRecord(Phase.X224);
        var runner = new PhaseRunner(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        await runner.RunAsync(record, null, async context =>
        {
            context.OnTimeout = () => (Codes.BeforeServerHello, "no ServerHello");
            await Task.Delay(Timeout.Infinite, context.Token);
        });
        Assert.Equal((PhaseStatus.Failed, Ending.Timeout, "before_server_hello", "no ServerHello"), (record.Status, record.Ending, record.Code?.Word, record.Detail));
        Assert.True(record.WallMs >= 40);
    }

    [Fact]
    public async Task The_runner_records_failures_and_transport_errors_through_the_classifier()
    {
        var runner = new PhaseRunner(TimeSpan.FromSeconds(5), CancellationToken.None);
        var refused = new PhaseRecord(Phase.X224);
        await runner.RunAsync(refused, null, _ => throw new PhaseFailedException(Ending.NegotiationFailure, new Code("hybrid_required_by_server"), "refused"));
        Assert.Equal((Ending.NegotiationFailure, "hybrid_required_by_server", "refused"), (refused.Ending, refused.Code?.Word, refused.Detail));

        var alert = new PhaseRecord(Phase.Credssp);
        await runner.RunAsync(alert, null, context =>
        {
            context.Doing = "reading the TSRequest";
            throw new TlsFatalAlert(AlertDescription.decode_error);
        });
        Assert.Equal((Ending.TlsAlert, "decode_error"), (alert.Ending, alert.Code?.Word));
        Assert.EndsWith("reading the TSRequest", alert.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_runner_keeps_the_first_ending_a_phase_recorded()
    {
        var record = new PhaseRecord(Phase.Credssp);
        await new PhaseRunner(TimeSpan.FromSeconds(5), CancellationToken.None).RunAsync(record, null, _ =>
        {
            record.Fail(Ending.AuthFailed, new Code("status_logon_failure"), "the server refused the credentials");
            throw new IOException("the connection broke afterwards");
        });
        Assert.Equal((Ending.AuthFailed, "status_logon_failure"), (record.Ending, record.Code?.Word));
    }

    [Fact]
    public async Task The_runner_lets_the_users_cancellation_and_bugs_propagate()
    {
        using var cts = new CancellationTokenSource();
        var runner = new PhaseRunner(TimeSpan.FromSeconds(30), cts.Token);
        var record = new PhaseRecord(Phase.Tls);
        cts.CancelAfter(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(record, null, context => Task.Delay(Timeout.Infinite, context.Token)));
        Assert.Equal(PhaseStatus.Ok, record.Status);

        // A phase that records its own failure (the session phases) still hands the user's Ctrl+C back.
        var session = new PhaseRecord(Phase.Mcs);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runner.RunAsync(session, null, _ =>
        {
            session.Fail(Ending.Timeout, null, "no answer in time");
            return Task.CompletedTask;
        }));

        var bug = new PhaseRecord(Phase.X224);
        await Assert.ThrowsAsync<InvalidOperationException>(() => new PhaseRunner(TimeSpan.FromSeconds(5), CancellationToken.None)
            .RunAsync(bug, null, _ => throw new InvalidOperationException("bug")));
    }
}
