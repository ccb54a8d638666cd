using RdpProbe.Runs;
using Spectre.Console;

namespace RdpProbe.Cli;

/// <summary>The --capture section of the human view: the analyzer's phases of the main connection, anomalies and ICMP by frame.</summary>
internal static class CaptureView
{
    /// <summary>--capture: each phase of the main connection next to its frames, then what only packets show.</summary>
    public static void Render(IAnsiConsole console, CaptureResult? cap)
    {
        if (cap is null)
        {
            return;
        }

        console.MarkupLine($"[bold]capture[/]  {cap.Packets} packets on {Esc(cap.Interface)} written to {Esc(cap.File)}"
            + (cap.Dropped > 0 ? $" ({cap.Dropped} beyond the size bound not written)" : string.Empty)
            + $"; {cap.Analysis.Connections.Count} TCP connection(s)");
        if (cap.Main is { } main)
        {
            console.MarkupLine($"  main connection {Esc(main.Client)} → {Esc(main.Server)}, frames {main.FirstFrame}–{main.LastFrame}, ended {Esc(main.Ending)}"
                + (main.EndedBy is { } by ? $" by the {Esc(by)}" : string.Empty));
            foreach (var phase in main.Phases)
            {
                console.MarkupLine($"  {Esc(phase.Name),-18} frames {phase.FirstFrame}–{phase.LastFrame}{(phase.Inferred ? " (inferred from record sizes)" : string.Empty)}");
            }
        }

        foreach (var connection in cap.Analysis.Connections)
        {
            foreach (var anomaly in connection.Anomalies)
            {
                console.MarkupLine($"  [yellow]{Esc(anomaly.Kind)}[/]{(anomaly.Count > 1 ? $" x{anomaly.Count}" : string.Empty)}"
                    + (anomaly.From is { } from ? $" from the {Esc(from)}" : string.Empty)
                    + (anomaly.Phase is { } phase ? $" in {Esc(phase)}" : string.Empty)
                    + $": frames {Esc(string.Join(" ", anomaly.Frames))}  [grey]{Esc(anomaly.Filter)}[/]");
            }
        }

        foreach (var icmp in cap.Analysis.Icmp)
        {
            console.MarkupLine($"  [yellow]ICMP {Esc(icmp.Kind)}[/]{(icmp.Mtu is { } m ? $" (next-hop MTU {m})" : string.Empty)} about {Esc(icmp.About)}: frame {icmp.Frame}  [grey]{Esc(icmp.Filter)}[/]");
        }

        console.WriteLine();
    }

    private static string Esc(string text) => Markup.Escape(text);
}
