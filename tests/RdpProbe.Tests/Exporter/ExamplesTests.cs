namespace RdpProbe.Tests.Exporter;

/// <summary>The shipped examples/prometheus files pass Prometheus' own checks, and the alert rules their unit tests.</summary>
public sealed class ExamplesTests
{
    [Fact]
    public async Task The_example_prometheus_config_is_valid()
    {
        var (exitCode, output) = await Promtool.RunAsync(null, Promtool.ExamplesDirectory, "check", "config", "prometheus.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("1 rule files found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_alert_rules_are_valid()
    {
        var (exitCode, output) = await Promtool.RunAsync(null, Promtool.ExamplesDirectory, "check", "rules", "rdpprobe-alerts.yml");

        Assert.True(exitCode == 0, output);
        Assert.Contains("5 rules found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_alert_rules_fire_as_their_unit_tests_expect()
    {
        var (exitCode, output) = await Promtool.RunAsync(null, Promtool.ExamplesDirectory, "test", "rules", "rdpprobe-alerts.test.yml");

        Assert.True(exitCode == 0, output);
    }

    [Fact]
    public void The_dashboard_is_json_with_panels_on_the_exporters_series()
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Promtool.ExamplesDirectory, "grafana-dashboard.json")));
        var panels = document.RootElement.GetProperty("panels").EnumerateArray().ToList();

        Assert.NotEmpty(panels);
        var expressions = panels.SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!).ToList();
        foreach (var series in new[] { "rdp_probe_success", "rdp_probe_tls_cert_remaining_seconds", "rdp_probe_phase_duration_seconds", "rdp_probe_nla_required", "rdp_probe_findings" })
        {
            Assert.Contains(expressions, e => e.Contains(series, StringComparison.Ordinal));
        }
    }
}
