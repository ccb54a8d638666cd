using System.Net;
using System.Net.Sockets;
using RdpProbe.Net;

namespace RdpProbe.Probe;

/// <summary>
/// What the user typed and what it means: HOST[:PORT] parsed by <see cref="HostPort"/> (the one parser), plus the
/// input text as given. <see cref="Address"/> is set when HOST is already an address (no dns phase needed).
/// </summary>
public sealed record ProbeTarget(string Input, string Host, int Port, IPAddress? Address)
{
    public const int DefaultPort = HostPort.DefaultPort;

    public bool IsLiteral => Address is not null;

    /// <summary>The parsed host and port without the input text (what the resolver takes).</summary>
    public HostPort HostPort => new(Host, Port, Address);

    public static ProbeTarget Parse(string input)
        => TryParse(input, out var target, out string? error) ? target! : throw new FormatException(error);

    /// <summary>Parses HOST[:PORT]; on failure <paramref name="error"/> is one line fit for the user.</summary>
    public static bool TryParse(string? input, out ProbeTarget? target, out string? error)
    {
        target = null;
        if (!HostPort.TryParse(input, DefaultPort, out var hostPort, out error))
        {
            return false;
        }

        target = new ProbeTarget(input!.Trim(), hostPort.Host, hostPort.Port, hostPort.Address);
        return true;
    }

    public override string ToString() => Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
