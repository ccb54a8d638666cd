using System.Globalization;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Issue 10: the verdict a real client would agree with. From a finished report's facts (<see cref="SecurityFactsFrom"/>)
/// it computes the findings (<see cref="FindingRules"/>), every profile's <see cref="ClientVerdict"/> and the chosen
/// profile's, and turns the phase records' verdict into that client's: a failure where the client refuses what the probe
/// accepted (Ending.ClientRefused at the phase it stops in), and a summary that says how it gets in when it does
/// (Standard RDP Security, a warning first, credentials nothing checked).
/// </summary>
internal static class ClientJudgement
{
    public static void Apply(ProbeReport report, ProbeOptions options, bool credentialsGiven)
    {
        var facts = SecurityFactsFrom.Report(report, credentialsGiven);
        report.Findings.AddRange(FindingRules.Evaluate(facts));
        ProbeEngine.Sort(report.Findings);

        report.Compatibility = ClientCompatibility.EvaluateAll(facts);
        var profile = Effective(options);
        report.ClientVerdict = profile == options.Client && report.Compatibility.FirstOrDefault(v => v.Profile == profile.Name) is { } same
            ? same
            : ClientCompatibility.Evaluate(profile, facts);
        report.Verdict = Phases.KerberosPhase.Specialise(Combine(Verdict.From(report.Phases), report.ClientVerdict, profile, facts, report), report.Kerberos);
    }

    /// <summary>
    /// The profile as the probe ran it: with --protocols the client is judged as if configured to ask for exactly that,
    /// without its fallbacks (the probe made none either); its TLS, certificate and CredSSP behaviour stay.
    /// </summary>
    public static ClientProfile Effective(ProbeOptions options)
        => options.ProtocolsForced && (options.RequestedProtocols != options.Client.RequestedProtocols || options.Client.Fallbacks.Count > 0)
            ? options.Client with { RequestedProtocols = options.RequestedProtocols, Fallbacks = [] }
            : options.Client;

    /// <summary>The phase records' verdict (<paramref name="phases"/>) as the client of <paramref name="profile"/> sees it.</summary>
    internal static Verdict Combine(Verdict phases, ClientVerdict client, ClientProfile profile, SecurityFacts facts, ProbeReport report)
    {
        string name = profile.DisplayName;

        // The client stops before (or where) the probe got: its refusal is what the user meets. A failure of the probe's
        // own that comes first is the server's, and every client meets it (ClientCompatibility says the same).
        if (client is { Result: Compatibility.Fails, FailPhase: { } failPhase } && (phases.Ok || failPhase < phases.Phase))
        {
            var (ending, code) = Refusal(client.Reason);
            var explanation = Symptoms.Explain(failPhase, ending, code);
            return new Verdict(false, failPhase, ending, code, $"{RefusalSentence(name, client, profile, facts)} {explanation.Summary}", explanation.Causes, explanation.Remedies);
        }

        if (!phases.Ok)
        {
            return phases;
        }

        var summary = new List<string> { phases.Summary };
        if (facts.SelectedProtocol == SecurityProtocols.Rdp)
        {
            summary.Add(StandardSecuritySentence(name, client, facts, report));
        }
        else if (client.Result == Compatibility.ConnectsAfterWarning)
        {
            summary.Add($"{name} connects after a warning the user has to accept: {string.Join("; ", client.Warnings)}.");
        }
        else if (client.Result == Compatibility.Unknown)
        {
            summary.Add($"Whether {name} connects cannot be told without {string.Join("; ", client.NeedsConnection)}.");
        }

        if (facts.KerberosFallback is { } fallback)
        {
            summary.Add($"Kerberos could not be had ({fallback.Code}), so the logon went through NTLM, as a Negotiate client falls back: "
                + "it fails where NTLM is restricted (Restrict NTLM policy, Protected Users).");
        }

        if (facts.CredentialsGiven && facts.CredentialsVerified != true)
        {
            summary.Add(report.Attempts.Count > 0 && report.Attempts[^1].PasswordWithheld
                ? "The credentials were not checked: RdpProbe does not send the password over a fallback to Standard RDP Security "
                  + "(nothing authenticates the server there); requesting only PROTOCOL_RDP sends it, RC4-encrypted."
                : "The credentials were not checked: without NLA nothing verifies them during the handshake; only the logon screen would.");
        }

        return phases with { Summary = string.Join(" ", summary) };
    }

    /// <summary>The verdict's ending and code for a client's failure reason.</summary>
    internal static (Ending Ending, Code? Code) Refusal(string? reason)
    {
        // The server's own RDP_NEG_FAILURE (a request the client makes and the probe did not): the server's refusal.
        if (reason is not null && Enum.GetValues<NegotiationFailureCode>().Where(c => c.ToReportName() == reason).ToList() is [var failure, ..])
        {
            return (Ending.NegotiationFailure, Codes.NegotiationFailure(failure));
        }

        return (Ending.ClientRefused, reason switch
        {
            "no_common_tls_version" => Codes.TlsVersionRefusedByClient,
            "no_common_cipher_suite" => Codes.CipherSuitesRefusedForClient,
            "certificate_key_too_small" => Codes.CertificateKeyRefusedByClient,
            "certificate_refused" => Codes.CertificateRefusedByClient,
            "credssp_version_unpatched" => Codes.CredSspVersionRefusedByClient,
            "standard_rdp_security_refused" => Codes.StandardSecurityRefusedByClient,
            null => null,
            _ => Codes.ClientReason(reason),
        });
    }

    private static string RefusalSentence(string name, ClientVerdict client, ClientProfile profile, SecurityFacts facts)
    {
        switch (client.Reason)
        {
            case "no_common_tls_version":
                var accepted = Enum.GetValues<TlsVersion>().Where(v => facts.Accepts(v) == true).Select(ClientCompatibility.TlsName).ToList();
                string got = facts.NegotiatedTlsVersion is { } v ? $"; RdpProbe's own client got in with {ClientCompatibility.TlsName(v)}" : "";
                return $"{name} refuses this server's TLS: the server accepts only {(accepted.Count > 0 ? string.Join(", ", accepted) : "versions it does not offer")}, "
                       + $"and {name} offers only {string.Join(", ", profile.TlsVersions.Select(ClientCompatibility.TlsName))}{got}.";
            case "certificate_key_too_small":
                return $"{name} refuses the server's certificate: its RSA key has {facts.Certificate?.KeySize} bits, below the {profile.MinimumRsaKeyBits} its TLS stack accepts.";
            case "credssp_version_unpatched":
                return $"{name} refuses the server's CredSSP version {facts.CredSspServerVersion}: a client patched for CVE-2018-0886 does not talk to an unpatched server.";
            case "standard_rdp_security_refused":
                return $"{name} does not run Standard RDP Security, the only security this server offers.";
            default:
                return $"{name} would not connect: {(client.Steps.Count > 0 ? client.Steps[^1] : client.Reason)}.";
        }
    }

    private static string StandardSecuritySentence(string name, ClientVerdict client, SecurityFacts facts, ProbeReport report)
    {
        string how = facts.EncryptionMethod switch
        {
            StandardEncryptionMethod.None => "no encryption at all",
            StandardEncryptionMethod.Fips => "FIPS 140 encryption (3DES) under a key nothing authenticates",
            StandardEncryptionMethod.Bit40 or StandardEncryptionMethod.Bit56 => "weak RC4 (40/56-bit)",
            _ => "RC4",
        };
        string after = "";
        if (report.Attempts.Count > 1)
        {
            var first = report.Attempts[0];
            after = string.Create(CultureInfo.InvariantCulture,
                $" after the server refused {ClientVerdict.Name(first.RequestedProtocols)} ({first.FallbackReason}) and it reconnected asking for {ClientVerdict.Name(report.Attempts[^1].RequestedProtocols)}");
        }

        string who = client.Result == Compatibility.ConnectsInsecurely ? $"{name} connects" : "The connection ran";
        string warned = client.Warnings.Count > 0 ? $" ({name} warns first: {string.Join("; ", client.Warnings)})" : "";
        return $"{who} with Standard RDP Security{after}: no server authentication, {how}{warned}.";
    }
}
