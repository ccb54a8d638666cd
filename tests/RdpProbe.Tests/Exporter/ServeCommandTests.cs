using RdpProbe.Cli;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Exporter;

/// <summary>`rdpprobe serve`'s command line: what it refuses before listening.</summary>
public sealed class ServeCommandTests
{
    private static async Task<(int Exit, string Err)> RunAsync(params string[] args)
    {
        var error = new StringWriter();
        int exit = await RdpProbeApp.RunAsync(args, new CliIo(new StringWriter(), error, new TestConsole()));
        return (exit, error.ToString());
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    public async Task A_listen_address_without_a_valid_port_is_a_usage_error(string listen)
    {
        var (exit, err) = await RunAsync("serve", "--listen", listen);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("--listen", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_module_file_is_a_usage_error_naming_the_file_and_line()
    {
        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "modules:\n  a:\n    extra_check: true\n");

            var (exit, err) = await RunAsync("serve", "--listen", "127.0.0.1:0", "--config", file);

            Assert.Equal(ExitCodes.Usage, exit);
            Assert.Contains($"rdpprobe serve: {file}: line 3: module a: unknown key 'extra_check'", err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_missing_module_file_is_a_usage_error()
    {
        var (exit, err) = await RunAsync("serve", "--config", "/nonexistent/rdpprobe.yml");

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Contains("/nonexistent/rdpprobe.yml", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_password_variable_stops_serve_before_it_listens()
    {
        string file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "modules:\n  a:\n    credentials:\n      user: LAB\\probe\n      password_env: RDPPROBE_SERVE_TEST_UNSET\n");

            var (exit, err) = await RunAsync("serve", "--listen", "127.0.0.1:0", "--config", file);

            Assert.Equal(ExitCodes.Usage, exit);
            Assert.Contains("RDPPROBE_SERVE_TEST_UNSET is not set", err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
