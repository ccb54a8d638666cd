using RdpProbe.Diagnosis;
using RdpProbe.Runs;

namespace RdpProbe.Tests.Bench;

public sealed class RoundTripsTests
{
    private static WireMessage S(double at) => new(Direction.Sent, at, 10, "sent");

    private static WireMessage R(double at) => new(Direction.Received, at, 10, "received");

    [Fact]
    public void A_send_followed_by_a_receive_is_one_round_trip()
        => Assert.Equal(1, RoundTrips.Count([S(0), R(5)]));

    [Fact]
    public void Several_records_in_one_flight_count_once()
    {
        // TLS 1.2: ClientHello → ServerHello, Certificate, ServerHelloDone; CKE, CCS, Finished → CCS, Finished.
        var flow = new[] { S(0), R(3), R(3), R(3.1), S(10), S(10), S(10.1), R(14), R(14) };
        var turns = RoundTrips.Turns(flow);
        Assert.Equal(2, turns.Count);
        Assert.Equal(new Turn(0, 3), turns[0]);
        Assert.Equal(new Turn(10, 14), turns[1]);
    }

    [Fact]
    public void Unanswered_sends_and_unsolicited_receives_are_no_round_trip()
    {
        Assert.Equal(0, RoundTrips.Count([S(0), S(1)]));
        Assert.Equal(0, RoundTrips.Count([R(0), R(1)]));
        Assert.Equal(1, RoundTrips.Count([R(0), S(1), R(2), S(3)]));
    }

    [Fact]
    public void Messages_are_taken_in_wire_order()
        => Assert.Equal(2, RoundTrips.Count([R(14), S(10), R(3), S(0)]));

    [Fact]
    public void Tls13_session_tickets_after_the_client_finished_are_not_a_round_trip()
    {
        var tls = new PhaseRecord(Phase.Tls);
        tls.Messages.AddRange([S(0), R(20), R(20), S(400), R(413), R(413)]);
        Assert.Equal(1, RoundTrips.Measured(tls, "tls1.3"));
        Assert.Equal(20, RoundTrips.WireMs(tls, "tls1.3"));

        // The same flow in TLS 1.2 is the full handshake: the server's Finished is waited for.
        Assert.Equal(2, RoundTrips.Measured(tls, "tls1.2"));
        Assert.Equal(33, RoundTrips.WireMs(tls, "tls1.2"));
    }

    [Fact]
    public void Tcp_is_one_round_trip_when_connected_and_none_when_not()
    {
        var tcp = new PhaseRecord(Phase.Tcp) { Ms = 0.4 };
        Assert.Equal(1, RoundTrips.Measured(tcp));
        Assert.Equal(0.4, RoundTrips.WireMs(tcp));
        tcp.Fail(Ending.Refused);
        Assert.Equal(0, RoundTrips.Measured(tcp));
    }

    [Theory]
    [InlineData(Phase.Tcp, "tls1.3", false, 1)]
    [InlineData(Phase.X224, null, false, 1)]
    [InlineData(Phase.Tls, "tls1.2", false, 2)]
    [InlineData(Phase.Tls, "tls1.0", false, 2)]
    [InlineData(Phase.Tls, "tls1.3", false, 1)]
    [InlineData(Phase.Credssp, "tls1.3", false, 1)]
    [InlineData(Phase.Credssp, "tls1.3", true, 2)]
    [InlineData(Phase.EarlyAuth, "tls1.3", true, 1)]
    public void Protocol_floors(Phase phase, string? tls, bool credentials, int floor)
        => Assert.Equal(floor, RoundTrips.Floor(phase, tls, credentials));

    [Fact]
    public void Unmodelled_phases_have_no_floor()
        => Assert.Null(RoundTrips.Floor(Phase.Licensing, "tls1.2", true));
}
