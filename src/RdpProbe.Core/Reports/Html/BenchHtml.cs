using System.Globalization;
using System.Text;
using RdpProbe.Diagnosis;
using static RdpProbe.Reports.Html.HtmlPage;

namespace RdpProbe.Reports.Html;

/// <summary>One benchmark scenario for the page: its name and every measured run's phase records, in run order.</summary>
/// <param name="Name">What the scenario was ("direct loopback", "xrdp 127.0.0.1:13389").</param>
/// <param name="Runs">The measured runs (warm-up runs left out), each the phase records of one connection sequence.</param>
/// <param name="Notes">Lines shown under the scenario's name (address, TLS version, how the run stopped).</param>
public sealed record BenchScenario(string Name, IReadOnlyList<IReadOnlyList<PhaseRecord>> Runs, IReadOnlyList<string> Notes);

/// <summary>
/// The benchmark as one HTML page: per scenario, the latency distribution of each phase as a box plot and the runs
/// over time; with several scenarios, a side-by-side view of the phases' medians. All charts are SVG written here.
/// Times are the wire times (the waits for the network and the server), the figure the bench compares.
/// </summary>
public static class BenchHtml
{
    private static readonly string[] Colours = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#558b2f", "#4527a0", "#ad1457", "#37474f", "#f9a825", "#00695c"];
    private static readonly string[] Dashes = ["", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4", "3 6", "", "6 3", "2 3", "8 3 2 3"];

    /// <summary>Quartiles of one phase's successful runs (linear interpolation between closest ranks).</summary>
    internal sealed record Box(string Phase, int Count, int Failed, double Min, double Q1, double Median, double Q3, double Max);

    public static string Write(IReadOnlyList<BenchScenario> scenarios, HtmlProvenance provenance)
    {
        ArgumentNullException.ThrowIfNull(scenarios);
        ArgumentNullException.ThrowIfNull(provenance);
        var page = new HtmlPage("rdpprobe bench: " + string.Join(", ", scenarios.Select(s => s.Name)));
        page.El("h1", "RDP handshake benchmark: " + string.Join(", ", scenarios.Select(s => s.Name)));
        page.El("h2", scenarios.Count > 1 ? "Side by side: median wire time per phase, per scenario" : "Side by side: median wire time per phase");
        page.Raw(SideBySide(scenarios));

        foreach (var scenario in scenarios)
        {
            var boxes = Boxes(scenario);
            int failedRuns = scenario.Runs.Count(r => r.Any(p => p.Status == PhaseStatus.Failed));
            page.El("h2", $"Scenario: {scenario.Name}");
            page.Raw($"<section class=\"verdict {(failedRuns == 0 ? "ok" : "fail")}\"><div class=\"word\">")
                .Raw(Text(failedRuns == 0 ? $"✔ {scenario.Runs.Count} measured run(s), all complete" : $"✘ {failedRuns} of {scenario.Runs.Count} run(s) failed"))
                .Raw("</div>" + string.Concat(scenario.Notes.Select(n => $"<p>{Text(n)}</p>")) + "</section>");
            page.Raw("<div class=\"charts\">");
            page.Raw(BoxPlot(boxes, $"Wire time per phase, {scenario.Name}"));
            page.Raw(RunsOverTime(scenario));
            page.Raw("</div>");
            page.Table(["Phase", "Runs ok", "Failed", "Min ms", "Q1 ms", "Median ms", "Q3 ms", "Max ms"], boxes.Select(b => (IReadOnlyList<string?>)[
                b.Phase, b.Count.ToString(CultureInfo.InvariantCulture), b.Failed > 0 ? BadgeCell("fail", b.Failed.ToString(CultureInfo.InvariantCulture)) : "0",
                Num(b.Min, "0.00"), Num(b.Q1, "0.00"), Num(b.Median, "0.00"), Num(b.Q3, "0.00"), Num(b.Max, "0.00")]), "bench");
        }

        return page.Footer(provenance).ToString();
    }

    /// <summary>The box of each connection-sequence phase that ran, in phase order.</summary>
    internal static IReadOnlyList<Box> Boxes(BenchScenario scenario)
    {
        var records = scenario.Runs.SelectMany(r => r).Where(p => p.Phase < Phase.SecurityMatrix && p.Status != PhaseStatus.Skipped);
        return records.GroupBy(p => p.Phase).OrderBy(g => g.Key).Select(g =>
        {
            var ok = g.Where(p => p.Status == PhaseStatus.Ok).Select(p => p.Ms).Order().ToArray();
            int failed = g.Count(p => p.Status == PhaseStatus.Failed);
            return ok.Length == 0
                ? new Box(g.Key.ToReportName(), 0, failed, 0, 0, 0, 0, 0)
                : new Box(g.Key.ToReportName(), ok.Length, failed, ok[0], Quantile(ok, 0.25), Quantile(ok, 0.5), Quantile(ok, 0.75), ok[^1]);
        }).ToList();
    }

    private static double Quantile(double[] sorted, double q)
    {
        double pos = (sorted.Length - 1) * q;
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }

    /// <summary>A value axis: linear, or logarithmic when the phases differ by more than two orders of magnitude.</summary>
    private sealed class Axis(double min, double max, double x0, double x1)
    {
        public bool Log { get; } = max / Math.Max(min, 1e-3) > 100;
        private readonly double _lo = max / Math.Max(min, 1e-3) > 100 ? Math.Log10(Math.Max(min, 1e-3)) : 0;
        private readonly double _hi = max / Math.Max(min, 1e-3) > 100 ? Math.Log10(max) : max;

        public double X(double v)
        {
            double t = Log ? (Math.Log10(Math.Max(v, 1e-3)) - _lo) / Math.Max(1e-9, _hi - _lo) : v / Math.Max(1e-9, _hi);
            return x0 + (Math.Clamp(t, 0, 1) * (x1 - x0));
        }

        public IEnumerable<double> Ticks()
        {
            if (Log)
            {
                for (double d = Math.Floor(_lo); d <= Math.Ceiling(_hi); d++)
                {
                    double v = Math.Pow(10, d);
                    if (v >= Math.Pow(10, _lo) * 0.999 && v <= max * 1.001)
                    {
                        yield return v;
                    }
                }

                yield break;
            }

            double step = NiceStep(_hi / 5);
            for (double v = 0; v <= _hi * 1.0001; v += step)
            {
                yield return v;
            }
        }

        private static double NiceStep(double raw)
        {
            double p = Math.Pow(10, Math.Floor(Math.Log10(Math.Max(raw, 1e-6))));
            double m = raw / p;
            return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
        }
    }

    private static string Ms(double v) => v >= 100 ? Num(v, "0") : v >= 10 ? Num(v, "0.#") : v >= 1 ? Num(v, "0.##") : Num(v, "0.###");

    private static string BoxPlot(IReadOnlyList<Box> boxes, string title)
    {
        const int width = 520;
        const int left = 120;
        const int right = 500;
        const int row = 30;
        var drawn = boxes.Where(b => b.Count > 0).ToList();
        int height = 30 + (boxes.Count * row) + 36;
        var axis = new Axis(drawn.Count > 0 ? drawn.Min(b => Math.Max(b.Min, 1e-3)) : 1, drawn.Count > 0 ? Math.Max(drawn.Max(b => b.Max), 1e-3) : 1, left, right);
        var s = new StringBuilder();
        s.Append("<figure><svg class=\"boxplot\" role=\"img\" viewBox=\"0 0 ").Append(width).Append(' ').Append(height).Append("\" xmlns=\"http://www.w3.org/2000/svg\"><title>")
         .Append(Text(title)).Append("</title>");
        foreach (double t in axis.Ticks())
        {
            double x = axis.X(t);
            s.Append("<line x1=\"").Append(Num(x, "0.#")).Append("\" y1=\"22\" x2=\"").Append(Num(x, "0.#")).Append("\" y2=\"").Append(height - 30).Append("\" stroke=\"#e1e4e8\"/>")
             .Append("<text x=\"").Append(Num(x, "0.#")).Append("\" y=\"").Append(height - 16).Append("\" font-size=\"10\" text-anchor=\"middle\">").Append(Ms(t)).Append("</text>");
        }

        s.Append("<text x=\"").Append((left + right) / 2).Append("\" y=\"").Append(height - 3).Append("\" font-size=\"11\" text-anchor=\"middle\">wire ms").Append(axis.Log ? " (log scale)" : "").Append("</text>")
         .Append("<text x=\"").Append(left).Append("\" y=\"14\" font-size=\"12\" font-weight=\"700\">").Append(Text(title)).Append("</text>");
        for (int i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            double y = 30 + (i * row);
            string colour = Colours[i % Colours.Length];
            s.Append("<g class=\"box\" data-phase=\"").Append(Text(b.Phase)).Append("\"><text x=\"").Append(left - 6).Append("\" y=\"").Append(Num(y + 15, "0.#")).Append("\" font-size=\"11\" text-anchor=\"end\">")
             .Append(Text(b.Phase)).Append(b.Failed > 0 ? $" ✘{b.Failed}" : "").Append("</text>");
            if (b.Count == 0)
            {
                s.Append("<text x=\"").Append(left + 4).Append("\" y=\"").Append(Num(y + 15, "0.#")).Append("\" font-size=\"11\" fill=\"#c62828\">no successful run</text></g>");
                continue;
            }

            double x0 = axis.X(b.Min), q1 = axis.X(b.Q1), med = axis.X(b.Median), q3 = axis.X(b.Q3), x1 = axis.X(b.Max);
            double mid = y + 11;
            s.Append("<line x1=\"").Append(Num(x0, "0.#")).Append("\" y1=\"").Append(Num(mid, "0.#")).Append("\" x2=\"").Append(Num(x1, "0.#")).Append("\" y2=\"").Append(Num(mid, "0.#")).Append("\" stroke=\"#57606a\"/>")
             .Append("<line x1=\"").Append(Num(x0, "0.#")).Append("\" y1=\"").Append(Num(y + 5, "0.#")).Append("\" x2=\"").Append(Num(x0, "0.#")).Append("\" y2=\"").Append(Num(y + 17, "0.#")).Append("\" stroke=\"#57606a\"/>")
             .Append("<line x1=\"").Append(Num(x1, "0.#")).Append("\" y1=\"").Append(Num(y + 5, "0.#")).Append("\" x2=\"").Append(Num(x1, "0.#")).Append("\" y2=\"").Append(Num(y + 17, "0.#")).Append("\" stroke=\"#57606a\"/>")
             .Append("<rect x=\"").Append(Num(q1, "0.#")).Append("\" y=\"").Append(Num(y + 2, "0.#")).Append("\" width=\"").Append(Num(Math.Max(1.5, q3 - q1), "0.#")).Append("\" height=\"18\" fill=\"").Append(colour).Append("\" fill-opacity=\"0.35\" stroke=\"").Append(colour).Append("\"/>")
             .Append("<line x1=\"").Append(Num(med, "0.#")).Append("\" y1=\"").Append(Num(y, "0.#")).Append("\" x2=\"").Append(Num(med, "0.#")).Append("\" y2=\"").Append(Num(y + 22, "0.#")).Append("\" stroke=\"#1f2328\" stroke-width=\"2.5\"/>")
             .Append("<title>").Append(Text($"{b.Phase}: n={b.Count}, min {Ms(b.Min)}, Q1 {Ms(b.Q1)}, median {Ms(b.Median)}, Q3 {Ms(b.Q3)}, max {Ms(b.Max)} ms")).Append("</title></g>");
        }

        s.Append("</svg><figcaption>Box: first to third quartile; thick line: median; whiskers: min and max of the successful runs; ✘n: failed runs.</figcaption></figure>");
        return s.ToString();
    }

    private static string RunsOverTime(BenchScenario scenario)
    {
        const int width = 520;
        const int left = 50;
        const int right = 410;
        const int top = 24;
        const int bottom = 230;
        var phases = scenario.Runs.SelectMany(r => r).Where(p => p.Phase < Phase.SecurityMatrix && p.Status != PhaseStatus.Skipped).Select(p => p.Phase).Distinct().Order().ToList();
        double max = Math.Max(1e-3, scenario.Runs.SelectMany(r => r).Where(p => p.Phase < Phase.SecurityMatrix).Select(p => p.Ms).DefaultIfEmpty(1).Max());
        int n = Math.Max(1, scenario.Runs.Count);
        double X(int i) => left + (n == 1 ? (right - left) / 2.0 : i * (right - left) / (double)(n - 1));
        double Y(double v) => bottom - (Math.Clamp(v / max, 0, 1) * (bottom - top));
        var s = new StringBuilder();
        s.Append("<figure><svg class=\"runs\" role=\"img\" viewBox=\"0 0 ").Append(width).Append(" 270\" xmlns=\"http://www.w3.org/2000/svg\"><title>Runs over time: wire ms per phase, run by run</title>")
         .Append("<text x=\"").Append(left).Append("\" y=\"14\" font-size=\"12\" font-weight=\"700\">Runs over time (wire ms per phase)</text>")
         .Append("<line x1=\"").Append(left).Append("\" y1=\"").Append(bottom).Append("\" x2=\"").Append(right).Append("\" y2=\"").Append(bottom).Append("\" stroke=\"#57606a\"/>")
         .Append("<line x1=\"").Append(left).Append("\" y1=\"").Append(top).Append("\" x2=\"").Append(left).Append("\" y2=\"").Append(bottom).Append("\" stroke=\"#57606a\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double v = max * k / 4;
            s.Append("<text x=\"").Append(left - 4).Append("\" y=\"").Append(Num(Y(v) + 3, "0.#")).Append("\" font-size=\"10\" text-anchor=\"end\">").Append(Ms(v)).Append("</text>");
        }

        s.Append("<text x=\"").Append((left + right) / 2).Append("\" y=\"").Append(bottom + 28).Append("\" font-size=\"11\" text-anchor=\"middle\">run 1 … ").Append(scenario.Runs.Count).Append("</text>");
        for (int pi = 0; pi < phases.Count; pi++)
        {
            var phase = phases[pi];
            string colour = Colours[pi % Colours.Length];
            var points = new List<(double X, double Y, bool Failed)>();
            for (int i = 0; i < scenario.Runs.Count; i++)
            {
                if (scenario.Runs[i].FirstOrDefault(p => p.Phase == phase && p.Status != PhaseStatus.Skipped) is { } record)
                {
                    points.Add((X(i), Y(record.Ms), record.Status == PhaseStatus.Failed));
                }
            }

            s.Append("<g class=\"series\" data-phase=\"").Append(phase.ToReportName()).Append("\"><polyline fill=\"none\" stroke=\"").Append(colour).Append("\" stroke-width=\"1.6\"")
             .Append(Dashes[pi % Dashes.Length].Length > 0 ? $" stroke-dasharray=\"{Dashes[pi % Dashes.Length]}\"" : "").Append(" points=\"")
             .Append(string.Join(' ', points.Select(p => Num(p.X, "0.#") + "," + Num(p.Y, "0.#")))).Append("\"/>");
            foreach (var p in points.Where(p => p.Failed))
            {
                s.Append("<text x=\"").Append(Num(p.X, "0.#")).Append("\" y=\"").Append(Num(p.Y + 4, "0.#")).Append("\" font-size=\"12\" text-anchor=\"middle\" fill=\"#c62828\">✘</text>");
            }

            // The legend names the line (colour and dash pattern together), so no colour has to be matched alone.
            double ly = top + 6 + (pi * 16);
            s.Append("<line x1=\"").Append(right + 8).Append("\" y1=\"").Append(Num(ly, "0.#")).Append("\" x2=\"").Append(right + 30).Append("\" y2=\"").Append(Num(ly, "0.#"))
             .Append("\" stroke=\"").Append(colour).Append("\" stroke-width=\"2\"").Append(Dashes[pi % Dashes.Length].Length > 0 ? $" stroke-dasharray=\"{Dashes[pi % Dashes.Length]}\"" : "").Append("/>")
             .Append("<text x=\"").Append(right + 34).Append("\" y=\"").Append(Num(ly + 4, "0.#")).Append("\" font-size=\"10\">").Append(phase.ToReportName()).Append("</text></g>");
        }

        s.Append("</svg><figcaption>One line per phase (colour and dash pattern, named in the legend); ✘ marks a run in which the phase failed.</figcaption></figure>");
        return s.ToString();
    }

    private static string SideBySide(IReadOnlyList<BenchScenario> scenarios)
    {
        var boxes = scenarios.Select(Boxes).ToList();
        var phases = boxes.SelectMany(b => b.Select(x => x.Phase)).Distinct().ToList();
        const int left = 120;
        const int right = 860;
        int barHeight = 18;
        int group = (scenarios.Count * barHeight) + 10;
        int height = 40 + (phases.Count * group) + (scenarios.Count * 20) + 20;
        double max = Math.Max(1e-3, boxes.SelectMany(b => b).Select(b => b.Median).DefaultIfEmpty(1).Max());
        var s = new StringBuilder();
        s.Append("<figure><svg class=\"side-by-side\" role=\"img\" viewBox=\"0 0 900 ").Append(height).Append("\" xmlns=\"http://www.w3.org/2000/svg\"><title>Median wire ms per phase, scenarios side by side</title>")
         .Append("<defs>");
        for (int k = 0; k < scenarios.Count; k++)
        {
            // Each scenario has its own fill pattern as well as its own colour.
            s.Append("<pattern id=\"sc").Append(k).Append("\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(").Append(k * 45).Append(")\"><rect width=\"6\" height=\"6\" fill=\"").Append(Colours[k % Colours.Length])
             .Append("\"/>").Append(k == 0 ? "" : "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"" + (1 + (k % 3)) + "\"/>").Append("</pattern>");
        }

        s.Append("</defs>");
        for (int p = 0; p < phases.Count; p++)
        {
            double y0 = 20 + (p * group);
            s.Append("<text x=\"").Append(left - 6).Append("\" y=\"").Append(Num(y0 + (group / 2.0), "0.#")).Append("\" font-size=\"14\" text-anchor=\"end\">").Append(Text(phases[p])).Append("</text>");
            for (int k = 0; k < scenarios.Count; k++)
            {
                var b = boxes[k].FirstOrDefault(x => x.Phase == phases[p]);
                double y = y0 + (k * barHeight);
                double w = b is null || b.Count == 0 ? 0 : Math.Max(1, b.Median / max * (right - left - 220));
                s.Append("<rect x=\"").Append(left).Append("\" y=\"").Append(Num(y, "0.#")).Append("\" width=\"").Append(Num(w, "0.#")).Append("\" height=\"").Append(barHeight - 2).Append("\" fill=\"url(#sc").Append(k).Append(")\"/>")
                 .Append("<text x=\"").Append(Num(left + w + 4, "0.#")).Append("\" y=\"").Append(Num(y + 13, "0.#")).Append("\" font-size=\"12\">")
                 .Append(Text(b is null ? "not run" : b.Count == 0 ? "failed" : $"{Ms(b.Median)} ms ({LadderSvg.Clip(scenarios[k].Name, 30)})")).Append("</text>");
            }
        }

        double ly = 24 + (phases.Count * group);
        for (int k = 0; k < scenarios.Count; k++)
        {
            s.Append("<rect x=\"").Append(left).Append("\" y=\"").Append(Num(ly + (k * 20), "0.#")).Append("\" width=\"22\" height=\"14\" fill=\"url(#sc").Append(k).Append(")\"/><text x=\"").Append(left + 28).Append("\" y=\"").Append(Num(ly + (k * 20) + 12, "0.#")).Append("\" font-size=\"13\">")
             .Append(Text(scenarios[k].Name)).Append("</text>");
        }

        s.Append("</svg><figcaption>Median wire time per phase; each scenario has its own colour and pattern, and every bar is labelled with its value and scenario.</figcaption></figure>");
        return s.ToString();
    }
}
