using RdpProbe.Diagnosis;
using RdpProbe.Exporter;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Exporter;

public sealed class ExporterConfigTests
{
    [Fact]
    public void The_example_module_file_parses()
    {
        var config = ExporterConfig.Load(Path.Combine(Promtool.ExamplesDirectory, "rdpprobe.yml"));

        Assert.Contains(ExporterConfig.DefaultModuleName, config.Modules.Keys);
        var quick = config.Modules["rdp_quick"];
        Assert.False(quick.ExtraChecks);
        Assert.Equal(TimeSpan.FromSeconds(5), quick.Timeout);
        Assert.True(config.Modules["rdp_udp"].Udp);
        Assert.True(config.Modules["rdp_udp"].Mtu);
    }

    [Fact]
    public void Every_module_setting_is_read()
    {
        var config = ExporterConfig.Parse("""
            modules:
              nla:
                timeout: 1500ms
                protocols: [hybrid, hybrid_ex]
                client: freerdp2
                extra_checks: false
                session_phases: false
                udp: true
                mtu: false
                credentials:
                  user: LAB\probe
                  password_env: RDPPROBE_TEST_PASSWORD
            """);

        var module = config.Modules["nla"];
        Assert.Equal(TimeSpan.FromMilliseconds(1500), module.Timeout);
        Assert.Equal(SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, module.Protocols);
        Assert.Same(ClientProfiles.FreeRdp2, module.Client);
        Assert.False(module.ExtraChecks);
        Assert.False(module.SessionPhases);
        Assert.True(module.Udp);
        Assert.Equal(new ModuleCredentials(@"LAB\probe", "RDPPROBE_TEST_PASSWORD", null), module.Credentials);

        var options = module.ToProbeOptions(TimeSpan.FromSeconds(2));
        Assert.True(options.ProtocolsForced);
        Assert.Equal(SecurityProtocols.Hybrid | SecurityProtocols.HybridEx, options.RequestedProtocols);
        Assert.False(options.SecurityMatrix);
        Assert.False(options.TlsVersions);
        Assert.False(options.EncryptionLevels);
        Assert.Same(ClientProfiles.FreeRdp2, options.Client);
        Assert.True(module.ToRunOptions().Udp);
    }

    [Fact]
    public void Defaults_follow_the_client_profile_and_run_the_extra_checks()
    {
        var module = ExporterConfig.Parse("modules:\n  plain:\n").Modules["plain"];

        var options = module.ToProbeOptions(TimeSpan.FromSeconds(30));
        Assert.False(options.ProtocolsForced);
        Assert.Same(ClientProfiles.Windows11, options.Client);
        Assert.True(options.SecurityMatrix);
        Assert.Equal(TimeSpan.FromSeconds(10), module.Timeout);
        Assert.Null(module.Credentials);
    }

    [Fact]
    public void No_phase_may_wait_longer_than_the_whole_probe()
    {
        var module = new ProbeModule { Name = "m" };

        Assert.Equal(TimeSpan.FromSeconds(2), module.ToProbeOptions(TimeSpan.FromSeconds(2)).PhaseTimeout);
        Assert.Equal(RdpProbe.Probe.ProbeOptions.DefaultTimeout, module.ToProbeOptions(TimeSpan.FromSeconds(60)).PhaseTimeout);
    }

    [Theory]
    [InlineData("modules:\n  a:\n    timout: 5s\n", "line 3: module a: unknown key 'timout'")]
    [InlineData("modules:\n  a:\n    client: amiga\n", "line 3: module a: unknown client 'amiga'")]
    [InlineData("modules:\n  a:\n    protocols: [ssl, carrier_pigeon]\n", "unknown protocol 'carrier_pigeon'")]
    [InlineData("modules:\n  a:\n    timeout: 10 minutes\n", "timeout: expected a duration")]
    [InlineData("modules:\n  a:\n    timeout: 0s\n", "timeout: expected a duration")]
    [InlineData("modules:\n  a:\n    udp: maybe\n", "udp: expected true or false")]
    [InlineData("modules:\n  'a b':\n", "module name 'a b'")]
    [InlineData("modules: {}\n", "no module defined")]
    [InlineData("probes:\n  a:\n", "unknown key 'probes'")]
    [InlineData("modules:\n  a: [\n", "line ")]
    [InlineData("modules:\n  a:\n    credentials:\n      user: x\n", "give exactly one of password_env and password_file")]
    [InlineData("modules:\n  a:\n    credentials:\n      password_env: X\n", "'user' is missing")]
    public void Bad_files_are_refused_with_the_line_and_the_reason(string yaml, string expected)
    {
        var error = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse(yaml));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_password_in_the_file_is_refused_and_not_echoed()
    {
        var error = Assert.Throws<ExporterConfigException>(() => ExporterConfig.Parse("modules:\n  a:\n    credentials:\n      user: x\n      password: Hunter2secret\n"));

        Assert.Contains("never read from the configuration", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Hunter2secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_password_comes_from_the_variable_or_the_first_line_of_the_file()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "s3cret-from-file\nignored\n");
            Assert.Equal("s3cret-from-file", new ModuleCredentials("u", null, file).ReadPassword());

            string variable = "RDPPROBE_EXPORTER_TEST_" + Guid.NewGuid().ToString("N");
            Assert.Throws<ExporterConfigException>(() => new ModuleCredentials("u", variable, null).ReadPassword());
            Environment.SetEnvironmentVariable(variable, "s3cret-from-env");
            try
            {
                var credentials = new ModuleCredentials("u", variable, null);
                Assert.Equal("s3cret-from-env", credentials.ReadPassword());
                Assert.DoesNotContain("s3cret", credentials.ToString(), StringComparison.Ordinal);
            }
            finally
            {
                Environment.SetEnvironmentVariable(variable, null);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>The web stack stays in RdpProbe.Exporter: the probe library and its users never load ASP.NET Core.</summary>
public sealed class ExporterModuleTests
{
    [Fact]
    public void Core_does_not_reference_aspnetcore_or_the_exporter()
    {
        var references = typeof(RdpProbe.Probe.ProbeEngine).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();

        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("YamlDotNet", StringComparison.Ordinal));
        Assert.DoesNotContain("RdpProbe.Exporter", references);
        Assert.Contains(typeof(ExporterServer).Assembly.GetReferencedAssemblies(), a => a.Name == "RdpProbe.Core");
    }
}
