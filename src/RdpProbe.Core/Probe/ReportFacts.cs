using System.Text.Json;
using RdpProbe.Diagnosis;
using RdpProbe.Probe.Phases;
using RdpProbe.Protocol;

namespace RdpProbe.Probe;

/// <summary>
/// Turns what the phases decoded into the report's facts: negotiation (X.224), TLS, CredSSP and the session. Facts
/// only; the verdict comes from the phase records and the findings from <see cref="FindingRules"/>.
/// </summary>
internal static class ReportFacts
{
    /// <summary>
    /// The Connection Confirm's facts. Throws <see cref="PhaseFailedException"/> for an RDP_NEG_FAILURE and for a
    /// selection the client did not request, which end the x224 phase.
    /// </summary>
    public static void Negotiation(NegotiationFacts negotiation, X224ConnectionConfirm confirm, PhaseRecord x224)
    {
        negotiation.Answer = X224Exchange.Describe(confirm);
        negotiation.Legacy = confirm.IsLegacy;
        negotiation.ResponseFlags = confirm.ResponseFlags;
        if (confirm.FailureCode is { } failure)
        {
            negotiation.FailureCode = failure;
            throw new PhaseFailedException(Ending.NegotiationFailure, Codes.NegotiationFailure(failure),
                $"the server refused {X224Exchange.FormatProtocols(negotiation.RequestedProtocols)} with RDP_NEG_FAILURE {(uint)failure} ({failure.ToReportName().ToUpperInvariant()})");
        }

        var selected = confirm.IsLegacy ? SecurityProtocols.Rdp : confirm.SelectedProtocol ?? SecurityProtocols.Rdp;
        negotiation.SelectedProtocol = selected;
        if (selected == SecurityProtocols.Rdp)
        {
            // PROTOCOL_RDP is always possible for a server; selecting it when it was not asked for is a downgrade, not a violation.
            negotiation.Downgraded = negotiation.RequestedProtocols != SecurityProtocols.Rdp;
            x224.Detail = confirm.IsLegacy
                ? "legacy Connection Confirm without negotiation data: Standard RDP Security"
                : negotiation.Downgraded ? "the server downgraded to Standard RDP Security (PROTOCOL_RDP)" : "selected rdp";
            return;
        }

        // MS-RDPBCGR 2.2.1.2.1: selectedProtocol must be one of the requested protocols.
        if (((uint)selected & ~(uint)negotiation.RequestedProtocols) != 0 || System.Numerics.BitOperations.PopCount((uint)selected) != 1)
        {
            throw new PhaseFailedException(Ending.ProtocolViolation, Codes.SelectedNotRequested,
                $"the server selected {X224Exchange.FormatProtocols(selected)}, which the client did not request ({X224Exchange.FormatProtocols(negotiation.RequestedProtocols)})");
        }

        x224.Detail = $"selected {selected.ToReportName()}";
    }

    /// <summary>What the TLS handshake negotiated and the server's leaf certificate (decoded by Protocol/X509.cs).</summary>
    public static void Tls(TlsFacts facts, ProbeTlsClient client)
    {
        if (client.ServerVersion is not null)
        {
            facts.Version = client.VersionName;
        }

        if (client.SelectedCipherSuite is { } suite)
        {
            facts.CipherSuite = ProbeTlsClient.CipherSuiteName(suite);
        }

        facts.ChainLength = client.ServerCertificates.Count;

        // An unparsable certificate is a fact too: it stays null and the handshake result speaks for itself.
        if (client.ServerCertificates.Count > 0 && X509.TryRead(client.ServerCertificates[0], out var leaf))
        {
            facts.Certificate = Certificate(leaf, DateTimeOffset.UtcNow);
            facts.ServerSubjectPublicKey = leaf.SubjectPublicKey;
        }
    }

    public static CertificateInfo Certificate(X509Summary x509, DateTimeOffset now) => new(
        Subject: x509.Subject,
        Issuer: x509.Issuer,
        NotBefore: x509.NotBefore,
        NotAfter: x509.NotAfter,
        DaysLeft: (int)Math.Floor((x509.NotAfter - now).TotalDays),
        SelfSigned: x509.SelfSigned,
        KeyAlgorithm: x509.KeyAlgorithm,
        KeySize: x509.KeySize,
        SignatureAlgorithm: x509.SignatureAlgorithm,
        Sha256: x509.Sha256,
        San: x509.SubjectAltNames,
        SerialNumber: x509.SerialNumber);

    public static CredSspFacts CredSsp(CredSspResult result) => new()
    {
        ServerVersion = result.ServerVersion,
        Authenticated = result.Authenticated,
        ErrorCode = result.ErrorName,
        Ntlm = result.Ntlm is not { } n ? null : new NtlmFacts
        {
            TargetName = n.TargetName,
            NetbiosComputerName = n.NetbiosComputerName,
            NetbiosDomainName = n.NetbiosDomainName,
            DnsComputerName = n.DnsComputerName,
            DnsDomainName = n.DnsDomainName,
            DnsTreeName = n.DnsTreeName,
            ProductVersion = n.ProductVersion,
            ServerTime = n.ServerTime,
            ClockSkewSeconds = n.ClockSkewSeconds,
            NegotiateFlags = $"0x{(uint)n.NegotiateFlags:x8}",
        },
        Auth = AuthMechanisms.Word(result.Auth),
        Mechanism = result.Mechanism,
        Spnego = !result.Spnego ? null : new SpnegoFacts
        {
            Offered = result.SpnegoOffered,
            Spn = result.Spn,
            KerberosUnavailable = result.KerberosUnavailable,
            NegState = result.NegState,
            SupportedMech = result.SupportedMech,
            ServerChoice = result.ServerChoice is { } choice ? System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(choice.ToString()) : null,
            MutualAuth = result.KerberosMutualAuth,
        },
    };

    /// <summary>What the session phases learnt, as far as they got.</summary>
    public static SessionFacts Session(RdpSession session, SessionOutcome outcome)
    {
        var facts = new SessionFacts();
        if (outcome.Mcs is { } mcs)
        {
            facts.McsResult = mcs.ResultName;
            facts.ServerVersion = mcs.ServerVersion;
            facts.EncryptionMethod = mcs.EncryptionMethod is { } m ? Gcc.MethodName(m) : null;
            facts.EncryptionLevel = mcs.EncryptionLevel is { } l ? Gcc.LevelName(l) : null;
            facts.IoChannelId = mcs.IoChannelId;
            facts.ChannelIds = mcs.ChannelIds;
            facts.MessageChannelId = session.MessageChannelId;
        }

        if (outcome.Channels is { } channels)
        {
            facts.UserChannelId = channels.UserChannelId;
            facts.JoinedChannels = channels.Joins.Select(j => $"{j.Name} {j.ChannelId}" + (j.Result is { } r && r != 0 ? $" (result {r})" : string.Empty)).ToList();
        }

        facts.ServerCertificate = outcome.SecurityExchange?.CertificateDescription;
        if (outcome.Licensing is { } licensing)
        {
            facts.Licensing = JsonNamingPolicy.SnakeCaseLower.ConvertName(licensing.Outcome.ToString())
                + (licensing.Alert is { } alert && !alert.IsValidClient ? $" ({alert.Name})" : string.Empty);
        }

        facts.DemandActive = outcome.Capabilities?.Summary?.Describe();

        // The last Set Error Info the server sent, whichever phase it ended (MS-RDPBCGR 2.2.5.1.1).
        if (session.LastErrorInfo != ErrorInfo.None)
        {
            facts.ErrorInfo = $"0x{session.LastErrorInfo:x8}";
        }

        return facts;
    }
}
