using System.Net.Sockets;
using Org.BouncyCastle.Tls;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// The one mapping from what the transport did to a phase ending: socket errors, the end of the stream, TLS alerts
/// from either side, and a timeout (as opposed to the user's own cancellation, which is never an ending). The phase
/// runner and <see cref="Phases.PhaseIo"/> both classify through it, so the same event ends every phase the same way.
/// </summary>
internal static class TransportErrors
{
    /// <summary>
    /// The ending <paramref name="ex"/> stands for, or null when it is not the transport's doing (a bug, or a decoder
    /// tripping over bytes: the caller decides what that means where it happened).
    /// </summary>
    /// <param name="doing">What the phase was doing, appended to the detail ("waiting for the MCS Connect Response").</param>
    /// <param name="userToken">The user's token: a cancellation it requested propagates instead of becoming a timeout.</param>
    public static PhaseFailure? Classify(Exception ex, string? doing = null, CancellationToken userToken = default)
    {
        string when = string.IsNullOrEmpty(doing) ? string.Empty : " " + doing;
        switch (ex)
        {
            case PhaseFailedException failed:
                return failed.Failure;
            case OperationCanceledException when userToken.IsCancellationRequested:
                return null;
            case OperationCanceledException:
                return new PhaseFailure(Ending.Timeout, null, $"no answer in time{when}");
            case TlsFatalAlertReceived received:
            {
                string name = AlertName(received.AlertDescription);
                return new PhaseFailure(Ending.TlsAlert, Codes.TlsAlert((TlsAlertDescription)received.AlertDescription), $"the server sent a fatal TLS alert {name}{when}");
            }

            case TlsFatalAlert raised:
            {
                // The probe's own alert (RFC 8446 6.2): BouncyCastle found the server's TLS data unacceptable (bad MAC,
                // undecodable record, unexpected message) and aborted; the alert names why, as a server's would.
                string name = AlertName(raised.AlertDescription);
                return new PhaseFailure(Ending.TlsAlert, Codes.TlsAlert((TlsAlertDescription)raised.AlertDescription), $"the probe aborted the TLS connection with a fatal {name} alert{when}");
            }
        }

        if (FindSocketError(ex) is { } error)
        {
            return error switch
            {
                SocketError.ConnectionReset or SocketError.ConnectionAborted => new PhaseFailure(Ending.Reset, null, $"the server reset the connection{when}"),
                SocketError.ConnectionRefused => new PhaseFailure(Ending.Refused, null, $"the connection was refused{when}"),
                SocketError.TimedOut => new PhaseFailure(Ending.Timeout, null, $"the connection timed out{when}"),
                SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostDown or SocketError.NetworkDown
                    => new PhaseFailure(Ending.Unreachable, null, $"unreachable ({error}){when}"),
                _ => new PhaseFailure(Ending.Closed, null, $"the connection failed ({error}){when}"),
            };
        }

        if (ex is IOException or ObjectDisposedException)
        {
            // EndOfStreamException (TLS without close_notify) lands here too: the peer went away.
            return new PhaseFailure(Ending.Closed, null, $"the connection ended{when}");
        }

        return null;
    }

    /// <summary>
    /// A failed TCP connect: refused (RST to the SYN), filtered (no answer), unreachable (ICMP or no route) and the
    /// rest, told apart for the tcp phase, with the ICMP kind as the code.
    /// </summary>
    public static PhaseFailure ClassifyConnect(SocketError error, string target)
    {
        var (ending, what) = error switch
        {
            SocketError.ConnectionRefused => (Ending.Refused, "the host answered the SYN with a reset (nothing listens on this port)"),
            SocketError.TimedOut => (Ending.Timeout, "the SYN was never answered"),
            SocketError.HostUnreachable or SocketError.HostDown => (Ending.Unreachable, "host unreachable"),
            SocketError.NetworkUnreachable or SocketError.NetworkDown => (Ending.Unreachable, "network unreachable"),
            SocketError.AddressNotAvailable => (Ending.Unreachable, "the address is not available from this host"),
            SocketError.AccessDenied => (Ending.Unreachable, "the connection is administratively prohibited"),
            SocketError.ConnectionReset => (Ending.Reset, "the connection was reset during the TCP handshake"),
            _ => (Ending.Unreachable, $"connect failed ({error})"),
        };
        Code? code = error switch
        {
            SocketError.HostUnreachable or SocketError.HostDown => Codes.HostUnreachable,
            SocketError.NetworkUnreachable or SocketError.NetworkDown => Codes.NetworkUnreachable,
            SocketError.AccessDenied => Codes.AdministrativelyProhibited,
            _ => null,
        };
        return new PhaseFailure(ending, code, $"{what} ({target})");
    }

    /// <summary>A reset or abort anywhere in the exception chain (NetworkStream wraps the socket's error in an IOException).</summary>
    public static bool IsReset(Exception ex)
        => FindSocketError(ex) is SocketError.ConnectionReset or SocketError.ConnectionAborted;

    private static SocketError? FindSocketError(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode;
            }
        }

        return null;
    }

    private static string AlertName(short description) => TlsNames.AlertName((TlsAlertDescription)description);
}
