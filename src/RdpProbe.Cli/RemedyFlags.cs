namespace RdpProbe.Cli;

/// <summary>
/// Core's remedies speak protocol terms (the mstshash cookie, a routing token, PROTOCOL_RDP); the command line adds
/// the option that does it, so the reader does not have to map one to the other.
/// </summary>
internal static class RemedyFlags
{
    public static string With(string remedy)
    {
        var flags = new List<string>();
        if (remedy.Contains("mstshash", StringComparison.Ordinal))
        {
            flags.Add("--cookie USER");
        }

        if (remedy.Contains("routing token", StringComparison.Ordinal))
        {
            flags.Add("--routing-token TOKEN");
        }

        if (remedy.Contains("PROTOCOL_RDP", StringComparison.Ordinal))
        {
            flags.Add("--protocols rdp");
        }

        return flags.Count == 0 ? remedy : $"{remedy} ({string.Join(" / ", flags)})";
    }
}
