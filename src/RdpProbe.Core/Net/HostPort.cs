using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RdpProbe.Net;

/// <summary>
/// HOST[:PORT] as a user writes it, the one parser behind the probe's target, --targets lines and bench. HOST is a
/// name (RFC 1123 labels), an IPv4 literal, or an IPv6 literal — bracketed when a port follows (<c>[::1]:3389</c>,
/// RFC 3986 §3.2.2). <see cref="Address"/> is set when HOST is already an address, so no name lookup is needed.
/// </summary>
public readonly record struct HostPort(string Host, int Port, IPAddress? Address)
{
    public const int DefaultPort = 3389;

    /// <summary>Parses HOST[:PORT]; on failure <paramref name="error"/> is one line fit for the user and names the text.</summary>
    public static bool TryParse(string? input, int defaultPort, out HostPort value, out string? error)
    {
        value = default;
        error = null;
        string text = (input ?? string.Empty).Trim();
        if (text.Length == 0)
        {
            error = "empty target: expected HOST[:PORT]";
            return false;
        }

        if (text[0] == '[')
        {
            return TryParseBracketed(text, defaultPort, out value, out error);
        }

        int colons = text.Count(c => c == ':');
        if (colons > 1)
        {
            return TryParseBareIPv6(text, defaultPort, out value, out error);
        }

        string host = text;
        string? portText = null;
        if (colons == 1)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            portText = text[(colon + 1)..];
        }

        if (host.Length == 0)
        {
            error = $"'{Shorten(text)}': missing host";
            return false;
        }

        if (host.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            // Only the dotted quad: IPAddress.TryParse would also take "1.2.3" or "10" (inet_aton forms) — typos here.
            if (host.Count(c => c == '.') != 3 || !IPAddress.TryParse(host, out var v4) || v4.AddressFamily != AddressFamily.InterNetwork)
            {
                error = $"'{Shorten(host)}' is not a valid IPv4 address";
                return false;
            }

            return Finish(host, portText, v4, defaultPort, out value, out error);
        }

        if (!IsHostName(host))
        {
            error = $"'{Shorten(host)}' is not a valid host name";
            return false;
        }

        return Finish(host, portText, null, defaultPort, out value, out error);
    }

    /// <summary>Parses HOST[:PORT] or throws <see cref="FormatException"/> with the one-line reason.</summary>
    public static HostPort Parse(string input, int defaultPort = DefaultPort)
        => TryParse(input, defaultPort, out var value, out string? error) ? value : throw new FormatException(error);

    /// <summary>HOST:PORT with an IPv6 literal bracketed, so the text parses back to the same value.</summary>
    public override string ToString() => Address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Host}]:{Port}" : $"{Host}:{Port}";

    private static bool TryParseBracketed(string text, int defaultPort, out HostPort value, out string? error)
    {
        value = default;
        int close = text.IndexOf(']', StringComparison.Ordinal);
        if (close < 0)
        {
            error = $"'{Shorten(text)}': missing ']' after the IPv6 address";
            return false;
        }

        string host = text[1..close];
        string rest = text[(close + 1)..];
        string? portText = null;
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

        return Finish(host, portText, v6, defaultPort, out value, out error);
    }

    /// <summary>
    /// Several colons without brackets: only a bare IPv6 address, without a port. When the last group could also be
    /// read as a port (<c>::1:3389</c> is both the address ::1:3389 and "::1 port 3389") the text is refused: the user
    /// almost always meant the port, and probing a different address than intended is worse than asking.
    /// </summary>
    private static bool TryParseBareIPv6(string text, int defaultPort, out HostPort value, out string? error)
    {
        value = default;
        if (!IPAddress.TryParse(text, out var bare) || bare.AddressFamily != AddressFamily.InterNetworkV6)
        {
            error = $"'{Shorten(text)}': an IPv6 address with a port must be written [ADDRESS]:PORT";
            return false;
        }

        int last = text.LastIndexOf(':');
        string tail = text[(last + 1)..];
        string head = text[..last];
        if (tail.Length is > 0 and <= 5 && tail.All(char.IsAsciiDigit)
            && int.TryParse(tail, NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 1 and <= 65535
            && IPAddress.TryParse(head, out var headAddress) && headAddress.AddressFamily == AddressFamily.InterNetworkV6)
        {
            error = $"'{Shorten(text)}' is ambiguous: write [{Shorten(head)}]:{tail} for port {tail}, or [{Shorten(text)}] for that address";
            return false;
        }

        return Finish(text, null, bare, defaultPort, out value, out error);
    }

    private static bool Finish(string host, string? portText, IPAddress? address, int defaultPort, out HostPort value, out string? error)
    {
        value = default;
        error = null;
        int port = defaultPort;
        if (portText is not null)
        {
            if (portText.Length is 0 or > 5 || !portText.All(char.IsAsciiDigit)
                || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                error = $"'{Shorten(portText)}' is not a port number (1-65535)";
                return false;
            }
        }

        value = new HostPort(host, port, address);
        return true;
    }

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
}
