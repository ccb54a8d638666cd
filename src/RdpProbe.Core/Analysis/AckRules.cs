namespace RdpProbe.Analysis;

/// <summary>What a segment is in the ACK bookkeeping of its direction, named as Wireshark's tcp.analysis flags.</summary>
internal enum AckKind : byte
{
    None,

    /// <summary>0 or 1 byte one below the highest sequence sent so far: a keep-alive probe (RFC 9293 §3.8.4), tcp.analysis.keep_alive.</summary>
    KeepAlive,

    /// <summary>No payload, the same SEQ and ACK as before, a new (non-zero) window: tcp.analysis.window_update.</summary>
    WindowUpdate,

    /// <summary>The answer to the peer's keep-alive: the previous ACK repeated, tcp.analysis.keep_alive_ack.</summary>
    KeepAliveAck,

    /// <summary>One byte at the next sequence number into the peer's zero window: tcp.analysis.zero_window_probe.</summary>
    ZeroWindowProbe,

    /// <summary>No payload, and SEQ, ACK and window all equal to this side's previous segment: tcp.analysis.duplicate_ack.</summary>
    DuplicateAck,
}

/// <summary>
/// Classifies a segment against its direction's previous one the way Wireshark's TCP analysis does (the sequence
/// analysis of its TCP dissector: keep-alive, then window update, then keep-alive ACK, then duplicate ACK; the first
/// rule that matches decides), so that a keep-alive or a window update is never counted as a duplicate ACK and the
/// frames the analyzer reports are the frames tcp.analysis.duplicate_ack finds. Each direction remembers the highest
/// sequence number it sent plus length (SYN and FIN take one), its last ACK and window, and whether its last segment
/// was a keep-alive. Windows are compared as sent (the scale factor of a connection is constant, so unscaled values
/// are equal exactly when the scaled ones are).
/// </summary>
internal static class AckRules
{
    /// <summary>Classifies the segment, then records it in <paramref name="fwd"/>'s state.</summary>
    public static AckKind Classify(TcpHalf fwd, TcpHalf rev, uint seq, uint ack, TcpFlags flags, ushort window, int segmentLength)
    {
        var kind = Decide(fwd, rev, seq, ack, flags, window, segmentLength);
        uint next = seq + (uint)segmentLength + ((flags & (TcpFlags.Syn | TcpFlags.Fin)) != 0 ? 1u : 0u);
        if (kind != AckKind.ZeroWindowProbe && (!fwd.AckRuleHasNextSeq || (int)(next - fwd.AckRuleNextSeq) > 0))
        {
            fwd.AckRuleNextSeq = next;
            fwd.AckRuleHasNextSeq = true;
        }

        fwd.AckRuleLastAck = ack;
        fwd.AckRuleWindow = window;
        fwd.AckRuleSeen = true;
        fwd.LastWasKeepAlive = kind == AckKind.KeepAlive;
        return kind;
    }

    private static AckKind Decide(TcpHalf fwd, TcpHalf rev, uint seq, uint ack, TcpFlags flags, ushort window, int segmentLength)
    {
        if (!fwd.AckRuleHasNextSeq || (flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) != 0)
        {
            return AckKind.None;
        }

        uint next = fwd.AckRuleNextSeq;
        if (segmentLength == 1 && seq == next && rev.AckRuleSeen && rev.AckRuleWindow == 0)
        {
            return AckKind.ZeroWindowProbe;
        }

        if (segmentLength is 0 or 1 && seq == next - 1)
        {
            return AckKind.KeepAlive;
        }

        if (segmentLength != 0 || window == 0 || !fwd.AckRuleSeen || seq != next || ack != fwd.AckRuleLastAck)
        {
            return AckKind.None;
        }

        if (window != fwd.AckRuleWindow)
        {
            return AckKind.WindowUpdate;
        }

        return rev.LastWasKeepAlive ? AckKind.KeepAliveAck : AckKind.DuplicateAck;
    }
}
