using System.Globalization;
using System.Text;

namespace RdpProbe.Exporter;

public enum MetricType
{
    Gauge,
    Counter,
}

/// <summary>One sample: label pairs in order, and the value.</summary>
public sealed record Sample(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value);

/// <summary>One metric family: its HELP and TYPE lines and its samples.</summary>
public sealed class MetricFamily(string name, MetricType type, string help)
{
    public string Name { get; } = name;

    public MetricType Type { get; } = type;

    public string Help { get; } = help;

    public List<Sample> Samples { get; } = [];

    public MetricFamily Add(double value, params (string Name, string Value)[] labels)
    {
        Samples.Add(new Sample([.. labels.Select(l => KeyValuePair.Create(l.Name, l.Value))], value));
        return this;
    }
}

/// <summary>
/// The Prometheus text exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats): per
/// family a HELP and a TYPE line, then one line per sample. Written here rather than through a metrics library
/// because a /probe answer is a fresh, short-lived set of series per request; the unit tests feed the output to
/// promtool (Prometheus' own parser) so it is held to the real grammar.
/// </summary>
public static class Exposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(IEnumerable<MetricFamily> families)
    {
        var text = new StringBuilder();
        foreach (var family in families)
        {
            if (!IsMetricName(family.Name))
            {
                throw new ArgumentException($"invalid metric name '{family.Name}'", nameof(families));
            }

            text.Append("# HELP ").Append(family.Name).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
            text.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type == MetricType.Counter ? "counter" : "gauge").Append('\n');
            foreach (var sample in family.Samples)
            {
                text.Append(family.Name);
                if (sample.Labels.Count > 0)
                {
                    text.Append('{');
                    for (int i = 0; i < sample.Labels.Count; i++)
                    {
                        var (name, value) = sample.Labels[i];
                        if (!IsLabelName(name))
                        {
                            throw new ArgumentException($"invalid label name '{name}' on {family.Name}", nameof(families));
                        }

                        text.Append(i == 0 ? "" : ",").Append(name).Append("=\"").Append(EscapeLabelValue(value)).Append('"');
                    }

                    text.Append('}');
                }

                text.Append(' ').Append(FormatValue(sample.Value)).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>Go's float syntax as Prometheus parses it: +Inf, -Inf, NaN, otherwise the shortest round-trip form.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ when double.IsNaN(value) => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>In label values backslash, double quote and line feed are escaped.</summary>
    public static string EscapeLabelValue(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>In HELP text only backslash and line feed are escaped.</summary>
    public static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>[a-zA-Z_:][a-zA-Z0-9_:]*</summary>
    public static bool IsMetricName(string name) => name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or ':')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':');

    /// <summary>[a-zA-Z_][a-zA-Z0-9_]*, and names starting with __ are reserved for Prometheus itself.</summary>
    public static bool IsLabelName(string name) => name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && !name.StartsWith("__", StringComparison.Ordinal) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
