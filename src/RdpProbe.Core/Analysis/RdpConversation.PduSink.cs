using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// The PDU sink: which PDUs the decoders need copied, where each finished PDU goes (by framing: TPKT to X.224 and
/// MCS, TLS records to the handshake decoder or the flight pattern, fast-path only stretches the phase), lost
/// framing, and the end of a direction.
/// </summary>
internal sealed partial class RdpConversation : IPduSink
{
    public bool WantBody(bool fromClient, PduFraming framing, byte type)
    {
        switch (framing)
        {
            case PduFraming.Tpkt:
                // X.224 and, for Standard RDP Security, the clear MCS/GCC PDUs up to licensing.
                return !SessionReached;
            case PduFraming.Tls:
                bool encrypted = fromClient ? ClientCcs : (ServerCcs || (Tls13 && ServerHello is not null));
                return !encrypted && type is (byte)TlsContentType.Handshake or (byte)TlsContentType.Alert;
            default:
                return false;
        }
    }

    public void OnLostSync(bool fromClient, int frame, string reason)
    {
        if (Request is null && fromClient)
        {
            NotRdpReason = reason;
        }

        Anomalies.Add(AnomalyKinds.LostSync, Current, fromClient ? "client" : "server", frame, reason);
    }

    public void OnUnframed(bool fromClient, ReadOnlySpan<byte> data, int frame) => IdentifyService(fromClient, data, frame);

    public void OnPdu(bool fromClient, PduFraming framing, byte type, int length, ReadOnlySpan<byte> body, bool damaged, int firstFrame, int lastFrame)
    {
        if (framing == PduFraming.Tls && !fromClient && Confirm is null && !body.IsEmpty && !damaged)
        {
            // A TLS record from the server before any Connection Confirm: a TLS-first service, not RDP (issue 11).
            IdentifyService(false, body, firstFrame);
        }

        switch (framing)
        {
            case PduFraming.Tpkt:
                OnTpkt(fromClient, body, damaged, firstFrame, lastFrame);
                break;
            case PduFraming.Tls:
                OnTlsRecord(fromClient, (TlsContentType)type, length, body, damaged, firstFrame, lastFrame);
                break;
            case PduFraming.FastPath:
                _phases.TouchCurrent(lastFrame);
                break;
        }
    }

    public void OnStreamEnd(bool fromClient, int frame) => ReturnHandshakeBuffer(fromClient);
}
