using RdpProbe.Analysis;

namespace RdpProbe.Tests.Analysis;

public sealed class TcpHalfTests
{
    private sealed class Recorder : IStreamConsumer
    {
        public List<byte> Bytes { get; } = [];
        public List<(int Length, int Frame)> Gaps { get; } = [];

        public void Feed(ReadOnlySpan<byte> data, int frame) => Bytes.AddRange(data.ToArray());

        public void Gap(int length, int frame)
        {
            Gaps.Add((length, frame));
            Bytes.AddRange(Enumerable.Repeat((byte)'?', length));
        }

        public string Text => System.Text.Encoding.ASCII.GetString(Bytes.ToArray());

        /// <summary>Frame of the end, and how many bytes had arrived by then.</summary>
        public (int Frame, int BytesBefore)? Ended { get; private set; }

        public void End(int frame) => Ended = (frame, Bytes.Count);
    }

    private static byte[] A(string s) => System.Text.Encoding.ASCII.GetBytes(s);

    private static (TcpHalf Half, Recorder Out) Start(uint isn = 1000)
    {
        var recorder = new Recorder();
        var half = new TcpHalf(recorder);
        half.SetBase(isn + 1);
        return (half, recorder);
    }

    [Fact]
    public void In_order_segments_are_delivered_as_they_come()
    {
        var (h, o) = Start();
        Assert.Equal(SegmentKind.InOrder, h.OnData(1001, A("hello "), 6, 1));
        Assert.Equal(SegmentKind.InOrder, h.OnData(1007, A("world"), 5, 2));
        Assert.Equal("hello world", o.Text);
        Assert.Equal(1012u, h.NextSeq);
    }

    [Fact]
    public void Out_of_order_segment_waits_for_the_hole_to_fill()
    {
        var (h, o) = Start();
        Assert.Equal(SegmentKind.OutOfOrder, h.OnData(1007, A("world"), 5, 1));
        Assert.Equal("", o.Text);
        Assert.Equal(1, h.BufferedCount);
        Assert.Equal(SegmentKind.InOrder, h.OnData(1001, A("hello "), 6, 2));
        Assert.Equal("hello world", o.Text);
        Assert.Equal(0, h.BufferedCount);
    }

    [Fact]
    public void Full_retransmission_is_recognised_and_not_delivered_twice()
    {
        var (h, o) = Start();
        h.OnData(1001, A("hello"), 5, 1);
        Assert.Equal(SegmentKind.Retransmission, h.OnData(1001, A("hello"), 5, 2));
        Assert.Equal("hello", o.Text);
    }

    [Fact]
    public void Retransmission_of_a_buffered_segment_is_recognised()
    {
        var (h, _) = Start();
        h.OnData(1010, A("later"), 5, 1);
        Assert.Equal(SegmentKind.Retransmission, h.OnData(1010, A("later"), 5, 2));
    }

    [Fact]
    public void Overlapping_segment_delivers_only_its_new_bytes()
    {
        var (h, o) = Start();
        h.OnData(1001, A("abcdef"), 6, 1);
        Assert.Equal(SegmentKind.Overlap, h.OnData(1004, A("defghi"), 6, 2));
        Assert.Equal("abcdefghi", o.Text);
    }

    [Fact]
    public void Keep_alive_is_not_a_retransmission()
    {
        var (h, _) = Start();
        h.OnData(1001, A("abc"), 3, 1);
        Assert.Equal(SegmentKind.KeepAlive, h.OnData(1003, A("c"), 1, 2));
    }

    [Fact]
    public void Hole_acknowledged_by_the_peer_becomes_a_gap()
    {
        var (h, o) = Start();
        h.OnData(1001, A("abc"), 3, 1);
        h.OnData(1009, A("xyz"), 3, 3);    // bytes 1004..1008 never captured
        Assert.Equal(5, h.SkipAcknowledgedHole(1012, 4));
        Assert.Equal("abc?????xyz", o.Text);
        Assert.Equal([(5, 4)], o.Gaps);
        Assert.Equal(1012u, h.NextSeq);
    }

    [Fact]
    public void Ack_for_data_never_seen_skips_it()
    {
        var (h, o) = Start();
        h.OnData(1001, A("abc"), 3, 1);
        Assert.Equal(4, h.SkipAcknowledgedHole(1008, 2));
        Assert.Equal(0, h.SkipAcknowledgedHole(1008, 3));
        Assert.Equal("abc????", o.Text);
    }

    [Fact]
    public void Flush_hands_over_buffered_data_behind_holes()
    {
        var (h, o) = Start();
        h.OnData(1005, A("efg"), 3, 1);
        h.Flush(9);
        Assert.Equal("????efg", o.Text);
    }

    [Fact]
    public void End_hands_over_buffered_data_then_ends_the_stream()
    {
        var (h, o) = Start();
        h.OnData(1005, A("efg"), 3, 1);
        Assert.Null(o.Ended);
        h.End(9);
        Assert.Equal("????efg", o.Text);
        Assert.Equal((9, 7), o.Ended);
    }

    [Fact]
    public void Snap_length_cut_becomes_a_gap_of_the_missing_tail()
    {
        var (h, o) = Start();
        h.OnData(1001, A("abc"), 6, 1);
        Assert.Equal("abc???", o.Text);
        Assert.Equal(1007u, h.NextSeq);
    }

    [Fact]
    public void Sequence_numbers_wrap_around()
    {
        var (h, o) = Start(isn: uint.MaxValue - 2);   // next expected = 0xFFFFFFFE
        h.OnData(uint.MaxValue - 1, A("ab"), 2, 1);
        h.OnData(0, A("cd"), 2, 2);
        Assert.Equal("abcd", o.Text);
        Assert.Equal(2u, h.NextSeq);
    }

    [Fact]
    public void Buffered_segments_are_bounded()
    {
        var (h, o) = Start();
        for (int i = 0; i < TcpHalf.MaxBufferedSegments + 10; i++)
        {
            h.OnData((uint)(1101 + (i * 10)), A("0123456789"), 10, i + 1);
        }

        Assert.True(h.BufferedCount <= TcpHalf.MaxBufferedSegments);
        Assert.True(o.Gaps.Count >= 1);
    }
}
