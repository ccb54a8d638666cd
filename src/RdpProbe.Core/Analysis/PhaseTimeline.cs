using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>The frames one phase of a connection spans, and whether the phase was inferred from record sizes.</summary>
internal record struct PhaseSlot(bool Seen, int FirstFrame, int LastFrame, bool Inferred);

/// <summary>
/// The phase state machine of one connection: which phases of the connection sequence it reached and the frames each
/// spans. Phases only move forward. The RDP conversation enters them as it decodes (or infers) the handshake; the TCP
/// tracker enters tcp and stretches the current phase over every segment, so anomalies carry the phase they happened in.
/// </summary>
internal sealed class PhaseTimeline
{
    private readonly PhaseSlot[] _slots = new PhaseSlot[(int)Phase.Capabilities + 1];

    /// <summary>Furthest phase reached; null before the first event.</summary>
    public Phase? Current { get; private set; }

    /// <summary>The handshake finished: the session (capabilities exchange and beyond) was reached.</summary>
    public bool SessionReached => Current >= Phase.Capabilities;

    public IEnumerable<(Phase Phase, PhaseSlot Slot)> Slots()
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Seen)
            {
                yield return ((Phase)i, _slots[i]);
            }
        }
    }

    /// <summary>Marks <paramref name="phase"/> as reached at <paramref name="frame"/> (phases only move forward).</summary>
    public void Enter(Phase phase, int frame, bool inferred)
    {
        ref var slot = ref _slots[(int)phase];
        if (!slot.Seen)
        {
            slot = new PhaseSlot(true, frame, frame, inferred);
        }
        else if (frame > slot.LastFrame)
        {
            slot.LastFrame = frame;
        }

        if (Current is null || phase > Current)
        {
            Current = phase;
        }
    }

    /// <summary>Stretches a phase already reached to <paramref name="frame"/>.</summary>
    public void Touch(Phase phase, int frame)
    {
        ref var slot = ref _slots[(int)phase];
        if (slot.Seen && frame > slot.LastFrame)
        {
            slot.LastFrame = frame;
        }
    }

    /// <summary>Stretches the current phase, if any, to <paramref name="frame"/>.</summary>
    public void TouchCurrent(int frame)
    {
        if (Current is { } current)
        {
            Touch(current, frame);
        }
    }
}
