using System.Text.RegularExpressions;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Tests.Diagnosis;

public sealed partial class CodesTests
{
    [GeneratedRegex("^[a-z0-9]+(_[a-z0-9]+)*$")]
    private static partial Regex SnakeCase();

    /// <summary>Every word the vocabulary can produce: its fixed members and every known value of its protocol families.</summary>
    private static HashSet<string> Vocabulary()
    {
        var words = Codes.Fixed.Select(c => c.Word).ToHashSet(StringComparer.Ordinal);
        words.UnionWith(Enum.GetValues<NegotiationFailureCode>().Select(c => Codes.NegotiationFailure(c).Word));
        words.UnionWith(Enum.GetValues<TlsAlertDescription>().Select(d => Codes.TlsAlert(d).Word));
        words.UnionWith(NtStatus.KnownCodes.Select(s => Codes.NtStatus(s).Word));
        words.UnionWith(ErrorInfo.KnownCodes.Select(e => Codes.ErrorInfo(e).Word));
        words.UnionWith(Licensing.KnownErrorCodes.Select(e => Codes.License(new LicenseErrorAlert(e, 0)).Word));
        words.UnionWith(Kerberos.KnownErrorCodes.Select(e => Codes.KerberosError(e).Word));
        words.UnionWith(Enum.GetValues<SniffKind>().Select(k => Codes.Sniffed(new SniffResult(k, "")).Word));
        return words;
    }

    [Fact]
    public void Every_code_the_symptom_table_keys_on_is_in_the_vocabulary()
    {
        var vocabulary = Vocabulary();
        // The table looks Set Error Info codes up without their "errinfo_" prefix (Symptoms.Explain).
        var withoutPrefix = vocabulary.Select(w => w.StartsWith("errinfo_", StringComparison.Ordinal) ? w["errinfo_".Length..] : w).ToHashSet();
        var keys = Symptoms.Keys.Where(k => k.Code is not null).Select(k => k.Code!.Value.Word).Distinct().ToList();

        Assert.NotEmpty(keys);
        Assert.All(keys, word => Assert.True(vocabulary.Contains(word) || withoutPrefix.Contains(word), $"{word} is not a vocabulary code"));
    }

    [Fact]
    public void Every_fixed_word_is_snake_case()
    {
        Assert.NotEmpty(Codes.Fixed);
        Assert.All(Codes.Fixed, c => Assert.Matches(SnakeCase(), c.Word));
    }

    [Fact]
    public void Every_protocol_family_word_is_snake_case()
    {
        Assert.All(Vocabulary(), w => Assert.Matches(SnakeCase(), w));
    }

    [Fact]
    public void No_two_fixed_members_share_a_word()
    {
        var shared = Codes.Fixed.GroupBy(c => c.Word).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(shared);
    }

    [Fact]
    public void A_code_prints_its_word_and_compares_by_it()
    {
        Assert.Equal("before_server_hello", Codes.BeforeServerHello.ToString());
        Assert.Equal(Codes.NegotiationFailure(NegotiationFailureCode.HybridRequiredByServer), Codes.NegotiationFailure(NegotiationFailureCode.HybridRequiredByServer));
        Assert.NotEqual(Codes.BeforeServerHello, Codes.DuringHandshake);
    }
}
