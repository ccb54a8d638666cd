using System.Reflection;
using RdpProbe.Analysis;
using RdpProbe.Diagnosis;
using RdpProbe.Probe;

namespace RdpProbe.Tests.Architecture;

/// <summary>
/// The module direction of RdpProbe.Core, checked on the compiled assembly. A module is the namespace under RdpProbe
/// (RdpProbe.Probe.Phases belongs to Probe). The live probe and the offline analyzer are siblings that never use each
/// other; Protocol and Diagnosis are at the bottom; Reports sits above both; the CLI is on top and nothing in Core
/// uses it.
/// </summary>
public sealed class ModuleDirectionTests
{
    /// <summary>What each module may use besides itself. Read a row as "Analysis may use Protocol and Diagnosis".</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> Rules = new Dictionary<string, string[]>
    {
        // module        may use
        ["Protocol"] = [],
        ["Diagnosis"] = ["Protocol"],
        ["Net"] = ["Protocol", "Diagnosis"],
        ["Analysis"] = ["Protocol", "Diagnosis", "Net"],   // Net: the platform adapter (which capture library, how to install it)
        ["Probe"] = ["Protocol", "Diagnosis", "Net"],
        ["Reports"] = ["Protocol", "Diagnosis", "Net", "Probe", "Analysis"],
        ["Runs"] = ["Protocol", "Diagnosis", "Net", "Probe", "Analysis", "Reports"],

        // The CLI assembly (rdpprobe) is on top: no Core module may use it.
    };

    /// <summary>
    /// Known violations, each a (type, used type) pair by full name; nested and compiler-generated types count as their
    /// outermost declaring type. Every entry must still be needed: the test fails when one is no longer seen, so
    /// whoever removes the violation removes the entry too.
    /// </summary>
    internal static readonly (string From, string To)[] KnownViolations = [];

    private static readonly Assembly Core = typeof(ProbeEngine).Assembly;
    private static readonly Assembly Cli = typeof(RdpProbe.Cli.ExitCodes).Assembly;

    internal sealed record Violation(string FromModule, string ToModule, Type From, Type To, string Where)
    {
        public override string ToString() => $"{FromModule} -> {ToModule}: {Owner(From).FullName} uses {To.FullName} ({Name(From)} {Where})";

        private static string Name(Type t) => t == Owner(t) ? "in" : $"in {t.FullName},";
    }

    [Fact]
    public void Core_modules_use_only_the_modules_below_them()
    {
        var unresolved = new List<string>();
        var violations = Check(Core, Rules, unresolved);

        var known = violations.Where(v => KnownViolations.Contains((Owner(v.From).FullName!, v.To.FullName!))).ToList();
        var unexpected = violations.Except(known).ToList();
        // One line per (type, used type), with the first place it is used.
        var lines = unexpected.GroupBy(v => (Owner(v.From).FullName, v.To.FullName)).Select(g => g.First().ToString()).Order().ToList();
        Assert.True(lines.Count == 0, $"{lines.Count} uses against the module direction:\n" + string.Join("\n", lines));

        var stale = KnownViolations.Where(k => !known.Any(v => (Owner(v.From).FullName, v.To.FullName) == k)).ToList();
        Assert.True(stale.Count == 0,
            "Known violations no longer seen — delete them from KnownViolations: " + string.Join(", ", stale));
    }

    [Fact]
    public void The_live_probe_and_the_offline_analyzer_are_siblings()
    {
        Assert.DoesNotContain("Analysis", Rules["Probe"]);
        Assert.DoesNotContain("Probe", Rules["Analysis"]);
        Assert.DoesNotContain(Check(Core, Rules, []), v => (v.FromModule, v.ToModule) is ("Probe", "Analysis") or ("Analysis", "Probe"));

        // Both sit on the same bottom: Protocol and Diagnosis use neither.
        foreach (var bottom in new[] { "Protocol", "Diagnosis" })
        {
            Assert.DoesNotContain("Probe", Rules[bottom]);
            Assert.DoesNotContain("Analysis", Rules[bottom]);
        }
    }

    [Fact]
    public void Every_core_type_belongs_to_a_module_of_the_table()
    {
        var outside = Core.GetTypes()
            .Where(t => ModuleOf(t) is { } m ? !Rules.ContainsKey(m) : !IsCompilerEmitted(t))
            .Select(t => t.FullName)
            .ToList();
        Assert.True(outside.Count == 0, "Types outside the module table (add the namespace to Rules): " + string.Join(", ", outside));
    }

    [Fact]
    public void Compiler_emitted_types_outside_the_modules_use_none_of_ours()
    {
        var uses = Core.GetTypes()
            .Where(t => ModuleOf(t) is null)
            .SelectMany(t => TypeReferences.Of(t))
            .Where(r => ModuleOf(r.To) is not null)
            .Select(r => $"{r.From.FullName} uses {r.To.FullName}")
            .ToList();
        Assert.Empty(uses);
    }

    [Fact]
    public void Every_token_in_every_method_body_resolves()
    {
        var unresolved = new List<string>();
        foreach (var t in Core.GetTypes())
        {
            _ = TypeReferences.Of(t, unresolved).ToList();
        }

        Assert.Empty(unresolved);
    }

    [Fact]
    public void Core_does_not_reference_the_cli_assembly()
    {
        Assert.DoesNotContain(Core.GetReferencedAssemblies(), a => a.Name == Cli.GetName().Name);
        Assert.DoesNotContain(Core.GetTypes().SelectMany(t => TypeReferences.Of(t)), r => r.To.Assembly == Cli);
    }

    // ---- the checker itself

    /// <summary>Stands for code under test: what it uses is visible only inside method bodies.</summary>
    private static class Synthetic
    {
        public static string OnlyInTheBody() => PhaseNames.SnakeCase("OnlyInTheBody");

        public static int Generic<T>(T[] items) => new List<T>(items).Count + EqualityComparer<T>.Default.GetHashCode();
    }

    [Fact]
    public void The_checker_finds_references_made_only_inside_method_bodies()
    {
        var unresolved = new List<string>();
        var used = TypeReferences.Of(typeof(Synthetic), unresolved).Select(r => r.To).ToHashSet();
        Assert.Contains(typeof(PhaseNames), used);
        Assert.Contains(typeof(List<>), used);
        Assert.Contains(typeof(EqualityComparer<>), used);
        Assert.Empty(unresolved);

        // In Core: the analyzer's verdicts name TLS alerts through Protocol's TlsNames, in method bodies only.
        var verdicts = Core.GetType("RdpProbe.Analysis.AnalysisVerdicts", throwOnError: true)!;
        var reference = Assert.Single(TypeReferences.Of(verdicts), r => r.To == typeof(RdpProbe.Protocol.TlsNames) && r.Where.Contains("body: call AlertName", StringComparison.Ordinal));
        Assert.Equal(verdicts, reference.From);
    }

    [Fact]
    public void The_checker_reports_uses_a_rule_table_forbids()
    {
        // A deliberately wrong table: the analyzer may use nothing, so its use of Protocol is a violation.
        var wrong = Rules.ToDictionary(r => r.Key, r => r.Key == "Analysis" ? Array.Empty<string>() : r.Value);
        var violations = Check(Core, wrong, []);
        Assert.Contains(violations, v => v is { FromModule: "Analysis", ToModule: "Protocol" });
        Assert.Contains(violations, v => v.From == typeof(AnalyzerOptions).Assembly.GetType("RdpProbe.Analysis.AnalysisVerdicts") && v.To == typeof(RdpProbe.Protocol.TlsNames));

        // And with the real table, the same references are allowed.
        Assert.DoesNotContain(Check(Core, Rules, []), v => v is { FromModule: "Analysis", ToModule: "Protocol" });
    }

    // ---- helpers

    internal static List<Violation> Check(Assembly assembly, IReadOnlyDictionary<string, string[]> rules, ICollection<string> unresolved)
    {
        var violations = new List<Violation>();
        foreach (var type in assembly.GetTypes())
        {
            if (ModuleOf(type) is not { } from || !rules.TryGetValue(from, out var allowed))
            {
                continue;
            }

            foreach (var r in TypeReferences.Of(type, unresolved))
            {
                string? to = r.To.Assembly == Cli ? "Cli" : ModuleOf(r.To);
                if (to is not null && to != from && !allowed.Contains(to))
                {
                    violations.Add(new Violation(from, to, r.From, r.To, r.Where));
                }
            }
        }

        return violations;
    }

    /// <summary>"RdpProbe.Probe.Phases" → "Probe"; null outside RdpProbe (the runtime, libraries, compiler-emitted types).</summary>
    internal static string? ModuleOf(Type type)
    {
        string? ns = Owner(type).Namespace;
        if (ns is null || !ns.StartsWith("RdpProbe.", StringComparison.Ordinal))
        {
            return null;
        }

        string rest = ns["RdpProbe.".Length..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    /// <summary>Nested and compiler-generated types (closures, state machines, record helpers) count as their outermost declaring type.</summary>
    internal static Type Owner(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type;
    }

    /// <summary>Types the compiler adds to an assembly outside our namespaces: &lt;PrivateImplementationDetails&gt;, embedded attributes.</summary>
    private static bool IsCompilerEmitted(Type type) =>
        Owner(type).Name.StartsWith('<')
        || type.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false)
        || type.GetCustomAttributesData().Any(a => a.AttributeType.Name == "EmbeddedAttribute");
}
