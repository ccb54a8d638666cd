using System.Globalization;
using System.Net;
using System.Text;

namespace RdpProbe.Reports.Html;

/// <summary>
/// Who made a page: the command line and the tool version, written at the foot of every HTML report so a page found
/// attached to a ticket says how to make it again.
/// </summary>
/// <param name="CommandLine">The command as typed (arguments joined with spaces); null when not known.</param>
public sealed record HtmlProvenance(string? CommandLine, ToolInfo Tool, DateTimeOffset WrittenAt)
{
    public static HtmlProvenance Now(string? commandLine) => new(commandLine, ToolInfo.Current, DateTimeOffset.UtcNow);
}

/// <summary>
/// A self-contained HTML page: one inline style sheet, inline SVG, no script and nothing fetched, so the file opens
/// offline from a mail attachment. Every text that reaches the page goes through <see cref="Text"/>: server-supplied
/// strings (certificate subjects, NTLM names, banners) are data, never markup.
/// </summary>
internal sealed class HtmlPage
{
    private readonly StringBuilder _b = new(64 * 1024);

    public HtmlPage(string title)
    {
        _b.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          // No script may run and nothing may be fetched, even if a string slipped through unescaped.
          .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">")
          .Append("<title>").Append(Text(title)).Append("</title><style>").Append(Css).Append("</style></head><body><main>\n");
    }

    /// <summary>HTML-escapes text for element content and quoted attribute values (&amp; &lt; &gt; &quot; &#39;).</summary>
    public static string Text(string? value) => value is null ? string.Empty : WebUtility.HtmlEncode(value);

    public static string Num(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);

    public HtmlPage Raw(string html)
    {
        _b.Append(html);
        return this;
    }

    public HtmlPage Append(StringBuilder html)
    {
        _b.Append(html);
        return this;
    }

    /// <summary>An element with escaped text content: <c>El("h2", "Phases")</c>.</summary>
    public HtmlPage El(string tag, string? text, string? cssClass = null)
    {
        _b.Append('<').Append(tag);
        if (cssClass is not null)
        {
            _b.Append(" class=\"").Append(cssClass).Append('"');
        }

        _b.Append('>').Append(Text(text)).Append("</").Append(tag).Append(">\n");
        return this;
    }

    /// <summary>A two-column fact list; rows whose value is null are left out.</summary>
    public HtmlPage Facts(IEnumerable<(string Name, string? Value)> rows)
    {
        var list = rows.Where(r => r.Value is not null).ToList();
        if (list.Count == 0)
        {
            return this;
        }

        _b.Append("<dl class=\"facts\">");
        foreach (var (name, value) in list)
        {
            _b.Append("<dt>").Append(Text(name)).Append("</dt><dd>").Append(Text(value)).Append("</dd>");
        }

        _b.Append("</dl>\n");
        return this;
    }

    /// <summary>A table: cells are escaped text; a cell starting with <see cref="RawCell"/> is trusted markup made by this code.</summary>
    public HtmlPage Table(IReadOnlyList<string> head, IEnumerable<IReadOnlyList<string?>> rows, string? cssClass = null)
    {
        _b.Append("<div class=\"scroll\"><table").Append(cssClass is null ? "" : $" class=\"{cssClass}\"").Append("><thead><tr>");
        foreach (var h in head)
        {
            _b.Append("<th>").Append(Text(h)).Append("</th>");
        }

        _b.Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            _b.Append("<tr>");
            foreach (var cell in row)
            {
                _b.Append("<td>").Append(cell is not null && cell.StartsWith(RawCell, StringComparison.Ordinal) ? cell[RawCell.Length..] : Text(cell)).Append("</td>");
            }

            _b.Append("</tr>");
        }

        _b.Append("</tbody></table></div>\n");
        return this;
    }

    /// <summary>Marks a table cell as markup built here (badges), not text.</summary>
    public const string RawCell = "\u0001raw:";

    /// <summary>A word with a colour and a symbol: the word and symbol carry the meaning, the colour only repeats it.</summary>
    public static string Badge(string kind, string word)
    {
        string symbol = kind switch
        {
            "ok" => "✔ ",
            "fail" or "critical" or "high" => "✘ ",
            "warn" or "medium" => "⚠ ",
            "skip" => "– ",
            _ => "ℹ ",
        };
        return $"<span class=\"badge {kind}\">{symbol}{Text(word)}</span>";
    }

    public static string BadgeCell(string kind, string word) => RawCell + Badge(kind, word);

    public HtmlPage Footer(HtmlProvenance provenance)
    {
        _b.Append("<footer><h2>How this page was made</h2>");
        Facts([
            ("Command", provenance.CommandLine ?? "(not recorded)"),
            ("Tool", $"{provenance.Tool.Name} {provenance.Tool.Version}"),
            ("Written", provenance.WrittenAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)),
        ]);
        _b.Append("</footer>\n");
        return this;
    }

    public override string ToString() => _b.ToString() + "</main></body></html>\n";

    /// <summary>
    /// One style sheet for every report: readable from a laptop's width down, printable (print colours kept, nothing
    /// cut at page breaks inside a figure), and every colour paired with a word, symbol or pattern elsewhere.
    /// </summary>
    private const string Css = """
:root{--ok:#1a7f37;--fail:#c62828;--warn:#b26a00;--info:#375a7f;--muted:#5f6b76;--line:#d0d7de;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
body{margin:0;background:#f6f8fa;color:#1f2328;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:16px 20px 40px;background:#fff}
h1{font-size:1.5rem;margin:.2em 0 .4em}h2{font-size:1.2rem;margin:1.4em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}h3{font-size:1.05rem;margin:1em 0 .4em}
.verdict{border:2px solid;border-left-width:10px;padding:10px 14px;margin:10px 0;border-radius:4px}
.verdict.ok{border-color:var(--ok);background:#eef8f0}.verdict.fail{border-color:var(--fail);background:#fdeeee}
.verdict .word{font-weight:700;font-size:1.15rem}
.badge{display:inline-block;padding:0 .45em;border-radius:3px;font-weight:600;font-size:.9em;white-space:nowrap;border:1px solid}
.badge.ok{color:var(--ok);border-color:var(--ok);background:#eef8f0}.badge.fail,.badge.critical,.badge.high{color:#fff;background:var(--fail);border-color:var(--fail)}
.badge.warn,.badge.medium{color:#5a3600;background:#fff1d6;border-color:var(--warn)}.badge.low,.badge.info{color:var(--info);border-color:var(--info);background:#eef3f8}.badge.skip{color:var(--muted);border-color:var(--line)}
table{border-collapse:collapse;width:100%;font-size:.92rem;margin:.3em 0 .8em}th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}th{background:#f0f3f6}
td{overflow-wrap:break-word}.scroll{overflow-x:auto}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:.3em 0 .8em;font-size:.92rem}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
figure{margin:.5em 0 1em;break-inside:avoid}figure svg{width:100%;height:auto;display:block}figcaption{font-size:.85rem;color:var(--muted)}
svg text{font-family:inherit}code,.filter{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.88em}
.filter{display:block;background:#f0f3f6;border:1px solid var(--line);padding:4px 6px;user-select:all;overflow-wrap:anywhere;white-space:pre-wrap}
.finding{border-left:6px solid var(--line);padding:4px 10px;margin:.5em 0;break-inside:avoid}.finding.critical,.finding.high{border-color:var(--fail)}.finding.medium{border-color:var(--warn)}.finding.low,.finding.info{border-color:var(--info)}
.conn{border:1px solid var(--line);border-radius:4px;padding:6px 12px;margin:12px 0;break-inside:avoid-page}
.muted{color:var(--muted)}footer{margin-top:2em;font-size:.9rem}ul{margin:.2em 0 .6em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
@media (max-width:700px){main{padding:10px}dl.facts{grid-template-columns:1fr}.charts{grid-template-columns:1fr}}
@media print{body{background:#fff;font-size:10pt}main{max-width:none;padding:0}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2{break-after:avoid}.scroll{overflow:visible}table,.conn,figure{break-inside:avoid}}
""";
}
