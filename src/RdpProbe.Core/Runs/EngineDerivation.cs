using RdpProbe.Probe;

namespace RdpProbe.Runs;

/// <summary>Run modes change the engine's options per run; the credentials (kept out of the options on purpose) stay.</summary>
internal static class EngineDerivation
{
    /// <summary>An engine with changed options and the same credentials and name lookup.</summary>
    public static ProbeEngine Derive(this ProbeEngine engine, Func<ProbeOptions, ProbeOptions> change)
        => new(change(engine.Options)) { Credentials = engine.Credentials, Resolver = engine.Resolver };

    /// <summary>One connection sequence per run: the matrix, TLS-version, client-simulation and encryption-level side checks would multiply
    /// the connections of a repeat or a target list.</summary>
    public static ProbeEngine SequenceOnly(this ProbeEngine engine)
        => engine.Derive(o => o with { SecurityMatrix = false, TlsVersions = false, ClientSimulation = false, EncryptionLevels = false, AllAddresses = false });

    /// <summary>
    /// <see cref="SequenceOnly"/> plus the chosen client's own simulated connection (one more per target, when the user
    /// left the client simulation on): without it the verdict on, say, a TLS-1.0-only server could only be "cannot tell".
    /// </summary>
    public static ProbeEngine SequenceAndChosenClient(this ProbeEngine engine)
        => engine.Derive(o => o with { SecurityMatrix = false, TlsVersions = false, SimulateAllClients = false, EncryptionLevels = false, AllAddresses = false });
}
