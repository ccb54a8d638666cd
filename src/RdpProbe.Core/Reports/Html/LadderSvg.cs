using System.Text;
using static RdpProbe.Reports.Html.HtmlPage;

namespace RdpProbe.Reports.Html;

/// <summary>One row of a ladder diagram.</summary>
internal abstract record LadderRow;

/// <summary>A message between the two sides: drawn as one arrow (class "arrow"), its name above, size and time below.</summary>
internal sealed record LadderArrow(bool FromClient, string Label, string Meta, bool Failed = false) : LadderRow;

/// <summary>A line of text across the diagram with no arrow: a phase without messages, an anomaly, the failure.</summary>
/// <param name="Kind">"note", "anomaly" (placed on the side that sent it), "fail" or "separator".</param>
/// <param name="Side">For anomalies: true client, false server, null both.</param>
internal sealed record LadderNote(string Text, string Kind, bool? Side = null) : LadderRow;

/// <summary>A phase band: a coloured background over its rows, with the phase name written in the margin.</summary>
/// <param name="Note">A third line under the name and the status ("extra check: own connection"), when the band is tall enough.</param>
internal sealed record LadderBand(string Name, string Status, IReadOnlyList<LadderRow> Rows, string? Note = null);

/// <summary>
/// Draws a sequence (ladder) diagram as inline SVG, the way Wireshark's flow graph and RDP write-ups tell a handshake:
/// the client's lifeline left, the server's right, one row per message, phases as named bands. A failed band is drawn
/// hatched, outlined in red and labelled "FAILED", so print in grey and colour-blind readers lose nothing.
/// </summary>
internal static class LadderSvg
{
    private const int Width = 900;
    private const int Margin = 170;          // left margin for the phase names
    private const int ClientX = Margin + 60;
    private const int ServerX = Width - 70;
    private const int RowHeight = 38;
    private const int Top = 44;

    private static readonly string[] Palette = ["#e3f2fd", "#e8f5e9", "#fff8e1", "#f3e5f5", "#e0f7fa", "#fbe9e7", "#f1f8e9", "#ede7f6", "#fffde7", "#e8eaf6", "#fce4ec", "#e0f2f1"];

    /// <summary>A failure note takes two lines (what failed, then the verdict in words); other rows one.</summary>
    private static int HeightOf(LadderRow row) => row is LadderNote { Kind: "fail" } ? RowHeight + 20 : RowHeight;

    public static string Render(IReadOnlyList<LadderBand> bands, string clientName, string serverName, string caption)
    {
        int contentHeight = bands.Sum(b => b.Rows.Count == 0 ? RowHeight : b.Rows.Sum(HeightOf));
        int height = Top + contentHeight + 20;
        var s = new StringBuilder(1024 + (bands.Sum(b => b.Rows.Count) * 420));
        s.Append("<figure class=\"ladder-figure\"><svg class=\"ladder\" role=\"img\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(height)
         .Append("\" xmlns=\"http://www.w3.org/2000/svg\"><title>").Append(Text(caption)).Append("</title>")
         .Append("<defs><marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f2328\"/></marker>")
         .Append("<marker id=\"ahf\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c62828\"/></marker>")
         .Append("<pattern id=\"hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#fdecea\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#f6c6c6\" stroke-width=\"3\"/></pattern></defs>");

        // Lifelines and their names; the server's name ends at the right edge so a long address is not cut.
        s.Append("<text x=\"").Append(ClientX).Append("\" y=\"18\" text-anchor=\"middle\" font-weight=\"700\" font-size=\"14\">").Append(Text(clientName)).Append("</text>")
         .Append("<text x=\"").Append(Width - 6).Append("\" y=\"18\" text-anchor=\"end\" font-weight=\"700\" font-size=\"14\">").Append(Text(serverName)).Append("</text>");

        // First the bands (backgrounds with their names), then the lifelines, then the rows on top of both.
        int y = Top;
        int bandIndex = 0;
        foreach (var band in bands)
        {
            int bandHeight = band.Rows.Count == 0 ? RowHeight : band.Rows.Sum(HeightOf);
            bool failed = band.Status == "failed";
            string fill = failed ? "url(#hatch)" : Palette[bandIndex % Palette.Length];
            s.Append("<g class=\"band").Append(failed ? " failed" : "").Append("\" data-phase=\"").Append(Text(band.Name)).Append("\">")
             .Append("<rect x=\"2\" y=\"").Append(y).Append("\" width=\"").Append(Width - 4).Append("\" height=\"").Append(bandHeight)
             .Append("\" fill=\"").Append(fill).Append('"').Append(failed ? " stroke=\"#c62828\" stroke-width=\"3\"" : " stroke=\"#ffffff\"").Append("/>")
             .Append("<text class=\"band-name\" x=\"10\" y=\"").Append(y + 18).Append("\" font-size=\"14\" font-weight=\"700\"").Append(failed ? " fill=\"#b71c1c\"" : "").Append('>')
             .Append(Text(Clip(band.Name, 20))).Append("</text>");
            string statusWord = band.Status switch { "failed" => "✘ FAILED", "ok" => "✔ ok", "skipped" => "– skipped", var other => other };
            s.Append("<text x=\"10\" y=\"").Append(y + 34).Append("\" font-size=\"12\"").Append(failed ? " fill=\"#b71c1c\" font-weight=\"700\"" : " fill=\"#5f6b76\"").Append('>')
             .Append(Text(statusWord)).Append("</text>");
            if (band.Note is not null && bandHeight >= 2 * RowHeight)
            {
                s.Append("<text x=\"10\" y=\"").Append(y + 50).Append("\" font-size=\"11\" fill=\"#5f6b76\">").Append(Text(Clip(band.Note, 26))).Append("</text>");
            }

            s.Append("</g>");
            bandIndex++;
            y += bandHeight;
        }

        s.Append("<line x1=\"").Append(ClientX).Append("\" y1=\"26\" x2=\"").Append(ClientX).Append("\" y2=\"").Append(y + 6).Append("\" stroke=\"#57606a\" stroke-width=\"2\"/>")
         .Append("<line x1=\"").Append(ServerX).Append("\" y1=\"26\" x2=\"").Append(ServerX).Append("\" y2=\"").Append(y + 6).Append("\" stroke=\"#57606a\" stroke-width=\"2\"/>");

        y = Top;
        foreach (var band in bands)
        {
            if (band.Rows.Count == 0)
            {
                y += RowHeight;
                continue;
            }

            foreach (var row in band.Rows)
            {
                RenderRow(s, row, y);
                y += HeightOf(row);
            }
        }

        s.Append("</svg><figcaption>").Append(Text(caption)).Append("</figcaption></figure>\n");
        return s.ToString();
    }

    private static void RenderRow(StringBuilder s, LadderRow row, int y)
    {
        int mid = (ClientX + ServerX) / 2;
        switch (row)
        {
            case LadderArrow a:
                int lineY = y + 22;
                int x1 = a.FromClient ? ClientX : ServerX;
                int x2 = a.FromClient ? ServerX : ClientX;
                string colour = a.Failed ? "#c62828" : "#1f2328";
                s.Append("<g class=\"arrow ").Append(a.FromClient ? "c2s" : "s2c").Append(a.Failed ? " failed" : "").Append("\">")
                 .Append("<line x1=\"").Append(x1).Append("\" y1=\"").Append(lineY).Append("\" x2=\"").Append(x2).Append("\" y2=\"").Append(lineY)
                 .Append("\" stroke=\"").Append(colour).Append("\" stroke-width=\"").Append(a.Failed ? "2.5" : "1.6").Append('"')
                 .Append(a.Failed ? " stroke-dasharray=\"6 3\"" : "").Append(" marker-end=\"url(#").Append(a.Failed ? "ahf" : "ah").Append(")\"/>")
                 .Append("<text x=\"").Append(mid).Append("\" y=\"").Append(lineY - 6).Append("\" text-anchor=\"middle\" font-size=\"13\"").Append(a.Failed ? " fill=\"#b71c1c\" font-weight=\"700\"" : "").Append('>')
                 .Append(Text(Clip(a.Label, 70))).Append("</text>")
                 .Append("<text x=\"").Append(mid).Append("\" y=\"").Append(lineY + 13).Append("\" text-anchor=\"middle\" font-size=\"11\" fill=\"#5f6b76\">")
                 .Append(Text(a.Meta)).Append("</text><title>").Append(Text(a.Label + " — " + a.Meta)).Append("</title></g>");
                break;
            case LadderNote n:
                string cls = n.Kind;
                string fill = n.Kind switch { "fail" => "#b71c1c", "anomaly" => "#8a4b00", _ => "#40484f" };
                string weight = n.Kind is "fail" or "separator" ? " font-weight=\"700\"" : "";
                if (n.Kind == "anomaly")
                {
                    int x = n.Side switch { true => ClientX, false => ServerX, _ => mid };
                    s.Append("<g class=\"note anomaly\"><polygon points=\"").Append(x).Append(',').Append(y + 8).Append(' ').Append(x + 9).Append(',').Append(y + 24).Append(' ').Append(x - 9).Append(',').Append(y + 24)
                     .Append("\" fill=\"#ffb74d\" stroke=\"#8a4b00\"/><text x=\"").Append(x + 7).Append("\" y=\"").Append(y + 21).Append("\" font-size=\"11\" font-weight=\"700\" fill=\"#1f2328\" text-anchor=\"end\" dx=\"-1\">!</text>")
                     .Append("<text x=\"").Append(mid).Append("\" y=\"").Append(y + 22).Append("\" text-anchor=\"middle\" font-size=\"12\" fill=\"").Append(fill).Append("\">⚠ ")
                     .Append(Text(Clip(n.Text, 85))).Append("</text><title>").Append(Text(n.Text)).Append("</title></g>");
                }
                else if (n.Kind == "fail")
                {
                    // What failed on the first line, the verdict's words on the second (wrapped, not cut, up to two lines' worth).
                    int dash = n.Text.IndexOf(" — ", StringComparison.Ordinal);
                    string head = dash < 0 ? n.Text : n.Text[..dash];
                    string tail = dash < 0 ? "" : n.Text[(dash + 3)..];
                    s.Append("<g class=\"note fail\"><rect x=\"").Append(ClientX + 8).Append("\" y=\"").Append(y + 4).Append("\" width=\"").Append(ServerX - ClientX - 16).Append("\" height=\"").Append(RowHeight + 12)
                     .Append("\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#c62828\" rx=\"4\"/>")
                     .Append("<text x=\"").Append(mid).Append("\" y=\"").Append(y + 22).Append("\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"700\" fill=\"").Append(fill).Append("\">✘ ")
                     .Append(Text(Clip(head, 68))).Append("</text><text x=\"").Append(mid).Append("\" y=\"").Append(y + 40).Append("\" text-anchor=\"middle\" font-size=\"12\" fill=\"").Append(fill).Append("\">")
                     .Append(Text(Clip(tail, 95))).Append("</text><title>").Append(Text(n.Text)).Append("</title></g>");
                }
                else
                {
                    s.Append("<g class=\"note ").Append(cls).Append("\"><text x=\"").Append(mid).Append("\" y=\"").Append(y + 23).Append("\" text-anchor=\"middle\" font-size=\"12\" fill=\"").Append(fill).Append('"').Append(weight)
                     .Append(" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"4\" stroke-opacity=\"0.8\">")
                     .Append(Text(Clip(n.Text, 90))).Append("</text><title>").Append(Text(n.Text)).Append("</title></g>");
                }

                break;
        }
    }

    internal static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
