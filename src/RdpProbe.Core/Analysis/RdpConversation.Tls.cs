using System.Buffers;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// TLS records (RFC 8446 §5.1, RFC 5246 §6.2): the clear handshake messages (ClientHello, ServerHello, the server
/// certificate), alerts, ChangeCipherSpec; application data goes to the flight pattern (<c>RdpConversation.Credssp.cs</c>).
/// </summary>
internal sealed partial class RdpConversation
{
    internal const int MaxHandshakeBuffer = 64 * 1024;

    private byte[]? _clientHs;
    private int _clientHsCount;
    private byte[]? _serverHs;
    private int _serverHsCount;

    private void OnTlsRecord(bool fromClient, TlsContentType type, int length, ReadOnlySpan<byte> record, bool damaged, int firstFrame, int lastFrame)
    {
        switch (type)
        {
            case TlsContentType.ChangeCipherSpec:
                if (fromClient)
                {
                    ClientCcs = true;
                }
                else if (!Tls13)
                {
                    ServerCcs = true;
                }

                Touch(Phase.Tls, lastFrame);
                return;

            case TlsContentType.Handshake:
                if (!record.IsEmpty && !damaged)
                {
                    AppendHandshake(fromClient, record[TlsRecordHeader.Size..], firstFrame, lastFrame);
                }
                else if (!fromClient && ServerCcs && !Tls13)
                {
                    // The server's encrypted Finished after its ChangeCipherSpec ends a TLS 1.2 handshake.
                    TlsDone = true;
                }

                if (Current is null || Current <= Phase.Tls)
                {
                    Enter(Phase.Tls, firstFrame, false);
                }

                Touch(Phase.Tls, lastFrame);
                return;

            case TlsContentType.Alert:
                {
                    TlsAlert? alert = null;
                    if (!record.IsEmpty && !damaged && TlsAlert.TryRead(record[TlsRecordHeader.Size..], out var a, out _) == OperationStatus.Done)
                    {
                        alert = a;
                    }

                    Alerts.Add((firstFrame, fromClient, alert, false));
                    string detail = alert is { } al ? $"{(al.Level == TlsAlertLevel.Fatal ? "fatal" : "warning")} {TlsNames.AlertName(al.Description)}" : "encrypted alert";
                    Anomalies.Add(AnomalyKinds.TlsAlert, Current, fromClient ? "client" : "server", firstFrame, detail);
                    _phases.TouchCurrent(lastFrame);

                    return;
                }

            case TlsContentType.ApplicationData:
                OnApplicationData(fromClient, length, firstFrame, lastFrame);
                return;
        }
    }

    private void AppendHandshake(bool fromClient, ReadOnlySpan<byte> fragment, int firstFrame, int lastFrame)
    {
        ref byte[]? buffer = ref fromClient ? ref _clientHs : ref _serverHs;
        ref int count = ref fromClient ? ref _clientHsCount : ref _serverHsCount;
        if (count + fragment.Length > MaxHandshakeBuffer)
        {
            count = 0;
            return;
        }

        if (buffer is null || buffer.Length < count + fragment.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(4096, count + fragment.Length));
            if (buffer is not null)
            {
                buffer.AsSpan(0, count).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
            }

            buffer = bigger;
        }

        fragment.CopyTo(buffer.AsSpan(count));
        count += fragment.Length;

        int used = 0;
        while (count - used >= TlsHandshakeHeader.Size)
        {
            var span = buffer.AsSpan(used, count - used);
            TlsHandshakeHeader.TryRead(span, out var header, out _);
            if (span.Length < TlsHandshakeHeader.Size + header.Length)
            {
                break;
            }

            OnHandshakeMessage(fromClient, header.Type, span.Slice(TlsHandshakeHeader.Size, header.Length), firstFrame, lastFrame);
            used += TlsHandshakeHeader.Size + header.Length;
        }

        if (used > 0)
        {
            buffer.AsSpan(used, count - used).CopyTo(buffer);
            count -= used;
        }

        if (count == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }

    private void OnHandshakeMessage(bool fromClient, TlsHandshakeType type, ReadOnlySpan<byte> body, int firstFrame, int lastFrame)
    {
        switch (type)
        {
            case TlsHandshakeType.ClientHello when fromClient && ClientHello is null:
                if (TlsHandshake.TryReadClientHello(body, out var ch) == OperationStatus.Done)
                {
                    ClientHello = ch;
                    ClientHelloFrame = firstFrame;
                    Enter(Phase.Tls, firstFrame, false);
                }

                break;
            case TlsHandshakeType.ServerHello when !fromClient && ServerHello is null:
                if (TlsHandshake.TryReadServerHello(body, out var sh) == OperationStatus.Done)
                {
                    ServerHello = sh;
                    ServerHelloFrame = firstFrame;
                }

                break;
            case TlsHandshakeType.Certificate when !fromClient && CertificateSubject is null && !Tls13:
                if (TlsHandshake.TryReadFirstCertificate(body, out var der) == OperationStatus.Done)
                {
                    (CertificateSubject, CertificateIssuer, Certificate) = CertificateNames.Get(der);
                }

                break;
        }
    }

    private void ReturnHandshakeBuffer(bool fromClient)
    {
        ref byte[]? buffer = ref fromClient ? ref _clientHs : ref _serverHs;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = null;
        }
    }
}
