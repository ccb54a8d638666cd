using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// TPKT PDUs (RFC 1006): the X.224 Connection Request and Confirm (MS-RDPBCGR 2.2.1.1, 2.2.1.2), then X.224 Data
/// carrying MCS, which <c>RdpConversation.Mcs.cs</c> reads.
/// </summary>
internal sealed partial class RdpConversation
{
    private void OnTpkt(bool fromClient, ReadOnlySpan<byte> pdu, bool damaged, int firstFrame, int lastFrame)
    {
        if (pdu.IsEmpty || damaged)
        {
            _phases.TouchCurrent(lastFrame);

            return;
        }

        byte code = pdu.Length > 5 ? (byte)(pdu[5] & 0xF0) : (byte)0;
        if (fromClient && code == (byte)X224TpduCode.ConnectionRequest && Request is null)
        {
            if (X224.TryReadConnectionRequest(pdu, out var cr, out _, out _) == OperationStatus.Done)
            {
                Request = cr;
                RequestFrame = firstFrame;
                Enter(Phase.X224, firstFrame, false);
                Touch(Phase.X224, lastFrame);
            }

            return;
        }

        if (!fromClient && code == (byte)X224TpduCode.ConnectionConfirm && Confirm is null)
        {
            if (X224.TryReadConnectionConfirm(pdu, out var cc, out _, out _) == OperationStatus.Done)
            {
                Confirm = cc;
                ConfirmFrame = lastFrame;
                Enter(Phase.X224, firstFrame, false);
                Touch(Phase.X224, lastFrame);
            }

            return;
        }

        if (!X224.TryGetDataPayload(pdu, out var mcs) || mcs.IsEmpty)
        {
            return;
        }

        OnMcs(fromClient, mcs, firstFrame, lastFrame);
    }
}
