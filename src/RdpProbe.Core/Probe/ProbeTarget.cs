using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Probe;

/// <summary>
/// What the user typed: HOST[:PORT] with HOST a name, an IPv4 literal or an IPv6 literal (bracketed when a port
/// follows: <c>[::1]:3389</c>). <see cref="Address"/> is set when HOST is already an address (no dns phase needed).
/// </summary>
public sealed record ProbeTarget(string Input, string Host, int Port, IPAddress? Address)
{
    public const int DefaultPort = 3389;

    public bool IsLiteral => Address is not null;

    public static ProbeTarget Parse(string input)
        => TryParse(input, out var target, out string? error) ? target! : throw new FormatException(error);

    /// <summary>Parses HOST[:PORT]; on failure <paramref name="error"/> is one line fit for the user.</summary>
    public static bool TryParse(string? input, out ProbeTarget? target, out string? error)
    {
        target = null;
        error = null;
        string text = (input ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            error = "empty target: expected HOST[:PORT]";
            return false;
        }

        string host;
        string? portText = null;
        if (text[0] == '[')
        {
            int close = text.IndexOf(']');
            if (close < 0)
            {
                error = $"'{Shorten(text)}': missing ']' after the IPv6 address";
                return false;
            }

            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    error = $"'{Shorten(text)}': expected ':PORT' after ']'";
                    return false;
                }

                portText = rest[1..];
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                error = $"'{Shorten(host)}' is not an IPv6 address";
                return false;
            }

            return Finish(text, host, portText, v6, out target, out error);
        }

        int colons = text.Count(c => c == ':');
        if (colons > 1)
        {
            // Several colons without brackets: only a bare IPv6 address (no port) makes sense.
            if (IPAddress.TryParse(text, out var bare) && bare.AddressFamily == AddressFamily.InterNetworkV6)
            {
                return Finish(text, text, null, bare, out target, out error);
            }

            error = $"'{Shorten(text)}': an IPv6 address with a port must be written [ADDRESS]:PORT";
            return false;
        }

        if (colons == 1)
        {
            int colon = text.IndexOf(':');
            host = text[..colon];
            portText = text[(colon + 1)..];
        }
        else
        {
            host = text;
        }

        if (host.Length == 0)
        {
            error = $"'{Shorten(text)}': missing host";
            return false;
        }

        if (LooksLikeIPv4(host))
        {
            if (!IPAddress.TryParse(host, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork || host.Count(c => c == '.') != 3)
            {
                error = $"'{Shorten(host)}' is not a valid IPv4 address";
                return false;
            }

            return Finish(text, host, portText, v4, out target, out error);
        }

        if (!IsHostName(host))
        {
            error = $"'{Shorten(host)}' is not a valid host name";
            return false;
        }

        return Finish(text, host, portText, null, out target, out error);
    }

    private static bool Finish(string input, string host, string? portText, IPAddress? address, out ProbeTarget? target, out string? error)
    {
        target = null;
        error = null;
        int port = DefaultPort;
        if (portText is not null)
        {
            if (portText.Length == 0 || portText.Length > 5 || !portText.All(char.IsAsciiDigit)
                || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                error = $"'{Shorten(portText)}' is not a port number (1-65535)";
                return false;
            }
        }

        target = new ProbeTarget(input, host, port, address);
        return true;
    }

    private static bool LooksLikeIPv4(string host) => host.All(c => char.IsAsciiDigit(c) || c == '.');

    /// <summary>RFC 1123 host name: labels of letters, digits and hyphens (underscore tolerated, as resolvers do), at most 253 characters.</summary>
    private static bool IsHostName(string host)
    {
        string name = host.EndsWith('.') ? host[..^1] : host;
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";

    public override string ToString() => Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
