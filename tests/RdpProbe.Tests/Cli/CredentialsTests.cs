using RdpProbe.Cli;
using RdpProbe.Probe;
using Spectre.Console.Testing;

namespace RdpProbe.Tests.Cli;

/// <summary>The one --user helper of probe and bench: credentials from the password source, or a usage error.</summary>
public sealed class CredentialsTests
{
    private static readonly ProbeEngine Engine = new(new ProbeOptions());

    [Fact]
    public void Without_user_the_engine_is_unchanged()
        => Assert.Same(Engine, Credentials.Apply(Engine, null, new CliIo(new StringWriter(), new StringWriter(), new TestConsole())));

    [Fact]
    public void With_a_password_the_engine_carries_the_credentials_and_keeps_its_options()
    {
        var error = new StringWriter();
        var engine = Credentials.Apply(Engine, "LAB\\probe", new CliIo(new StringWriter(), error, new TestConsole()),
            (string user, out string? e) => PasswordSource.Get(user, new StringWriter(), "Passw0rd!", terminal: false, out e));
        Assert.NotNull(engine);
        Assert.NotNull(engine!.Credentials);
        Assert.Same(Engine.Options, engine.Options);
        Assert.Empty(error.ToString());
        Assert.DoesNotContain("Passw0rd!", engine.Credentials!.ToString()!, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_password_source_it_is_a_one_line_usage_error()
    {
        var error = new StringWriter();
        var engine = Credentials.Apply(Engine, "LAB\\probe", new CliIo(new StringWriter(), error, new TestConsole()),
            (string user, out string? e) => PasswordSource.Get(user, new StringWriter(), null, terminal: false, out e));
        Assert.Null(engine);
        Assert.Equal($"rdpprobe: --user LAB\\probe: set {PasswordSource.EnvironmentVariable} (no terminal to ask for the password)", error.ToString().TrimEnd());
    }
}
