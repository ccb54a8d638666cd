using RdpProbe.Probe.Phases;

namespace RdpProbe.Tests.Probe.Phases;

/// <summary>The KRB5_CONFIG scope CredSSP's Kerberos library call runs in (C environment, put back afterwards).</summary>
[Collection(KerberosEnvironment.Name)]
public sealed class Krb5EnvironmentTests
{
    [Fact]
    public void The_scope_points_krb5_config_at_its_own_file_and_puts_the_old_value_back()
    {
        KerberosEnvironment.NoKdc();
        string? before = Krb5Environment.GetEnv("KRB5_CONFIG");
        Assert.NotNull(before);
        string file;
        using (Krb5Environment.Use("[libdefaults]\n default_realm = SCOPE.TEST\n"))
        {
            file = Krb5Environment.GetEnv("KRB5_CONFIG")!;
            Assert.NotEqual(before, file);
            Assert.Contains("SCOPE.TEST", File.ReadAllText(file), StringComparison.Ordinal);
        }

        Assert.Equal(before, Krb5Environment.GetEnv("KRB5_CONFIG"));
        Assert.False(File.Exists(file));
    }

    [Fact]
    public void Without_a_configuration_nothing_changes()
    {
        KerberosEnvironment.NoKdc();
        string? before = Krb5Environment.GetEnv("KRB5_CONFIG");
        using (Krb5Environment.Use(null))
        {
            Assert.Equal(before, Krb5Environment.GetEnv("KRB5_CONFIG"));
        }
    }
}
