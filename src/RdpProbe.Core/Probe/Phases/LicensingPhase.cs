using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

internal enum LicensingOutcome
{
    /// <summary>The phase did not finish (see the record).</summary>
    None,

    /// <summary>Error alert STATUS_VALID_CLIENT: nothing to license, the connection carries on.</summary>
    ValidClient,

    /// <summary>The server issued or upgraded a license.</summary>
    LicenseIssued,

    /// <summary>The server wants the client to request a license (RDS licensing); this probe does not request CALs.</summary>
    LicenseRequested,

    /// <summary>The server skipped licensing and went straight to Demand Active.</summary>
    Skipped,

    /// <summary>The server ended licensing with an error alert.</summary>
    Error,
}

internal sealed record LicensingResult(LicensingOutcome Outcome, LicenseErrorAlert? Alert, LicenseRequestInfo? Request)
{
    /// <summary>Whether the capabilities phase can follow.</summary>
    public bool CanContinue => Outcome is LicensingOutcome.ValidClient or LicensingOutcome.LicenseIssued or LicensingOutcome.Skipped;
}

/// <summary>
/// The licensing phase (MS-RDPBCGR 1.3.1.1 phase 7, MS-RDPELE): the "valid client" short-circuit, or the server's
/// License Request (reported: who the server is licensed as and what it asks for), or an error alert by name.
/// </summary>
internal static class LicensingPhase
{
    internal static async Task<LicensingResult> RunAsync(RdpSession session, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct) { Doing = "waiting for the licensing PDU" };
        const string when = "during licensing";
        (bool Answered, LicenseRequestInfo? Info) request = (false, null);
        try
        {
            for (int i = 0; i < RdpSession.MaxPdusPerPhase; i++)
            {
                foreach (var ev in await session.ReadEventsAsync(io, "while waiting for licensing").ConfigureAwait(false))
                {
                    switch (ev)
                    {
                        case LicensingEvent { Message: { Preamble.Type: LicenseMessageType.LicenseRequest } message }:
                            request = await AnswerLicenseRequestAsync(session, io, message).ConfigureAwait(false);
                            if (request.Answered is false)
                            {
                                record.Detail = $"the server wants a client license: {Describe(request.Info)}; this probe could not read the server's licensing key and stops";
                                return new LicensingResult(LicensingOutcome.LicenseRequested, null, request.Info);
                            }

                            break;
                        case LicensingEvent { Message: var message }:
                            var result = Handle(message, record, request.Info);
                            if (result is not null)
                            {
                                return result;
                            }

                            break;
                        case DemandActiveEvent demand:
                            session.PendingDemandActive = demand.Pdu;
                            record.Detail = "the server sent no licensing PDU and went straight to Demand Active";
                            return new LicensingResult(LicensingOutcome.Skipped, null, null);
                        default:
                            if (SessionEnd.TryEnd(session, io, ev, when))
                            {
                                return new LicensingResult(LicensingOutcome.None, null, null);
                            }

                            break;
                    }
                }
            }

            throw new PhaseFailedException(Ending.ProtocolViolation, null, $"{RdpSession.MaxPdusPerPhase} PDUs without a licensing PDU or Demand Active");
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new LicensingResult(LicensingOutcome.None, null, null);
        }
    }

    /// <summary>
    /// Answers a License Request with a New License Request (MS-RDPELE 3.3.5.2): a fresh premaster secret encrypted
    /// with the key of the certificate in the request (or, when that blob is empty, the one from the MCS response).
    /// Servers without a license server (xrdp, FreeRDP) then say "valid client"; a Windows RDS host continues with a
    /// Platform Challenge, where this probe stops.
    /// </summary>
    private static async Task<(bool Answered, LicenseRequestInfo? Info)> AnswerLicenseRequestAsync(RdpSession session, PhaseIo io, LicensingMessage message)
    {
        Licensing.TryReadLicenseRequest(message.Body, out var info);
        ServerCertificateInfo? key = session.ServerCertificate;
        if (info is { ServerCertificate.Length: > 0 } &&
            StandardSecurity.TryReadServerCertificate(info.ServerCertificate, out var licensingKey, out _) == System.Buffers.OperationStatus.Done)
        {
            key = licensingKey;
        }

        if (key is null)
        {
            return (false, info);
        }

        byte[] clientRandom = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
        byte[] premaster = System.Security.Cryptography.RandomNumberGenerator.GetBytes(48);
        byte[] encrypted = StandardSecurity.EncryptClientRandom(premaster, key);
        byte[] request = Licensing.EncodeNewLicenseRequest(clientRandom, encrypted, session.ClientUserName.Length > 0 ? session.ClientUserName : "rdpprobe", "RDPPROBE");
        io.Doing = "answering the License Request";
        await session.SendIoAsync(io, SecurityFlags.LicensePacket, request, $"licensing New License Request (premaster secret for the server's RSA {key.KeyBits}-bit licensing key)", encrypt: false).ConfigureAwait(false);
        io.Doing = "waiting for the server's licensing answer";
        return (true, info);
    }

    private static string Describe(LicenseRequestInfo? request) => request is null
        ? "a License Request this probe could not read in full"
        : $"a License Request from \"{request.CompanyName}\" product \"{request.ProductId}\" (version 0x{request.ProductVersion:X}, scopes {string.Join(", ", request.Scopes)})";

    private static LicensingResult? Handle(LicensingMessage message, PhaseRecord record, LicenseRequestInfo? requested)
    {
        string after = requested is null ? "" : $" after {Describe(requested)}";
        switch (message.Preamble.Type)
        {
            case LicenseMessageType.ErrorAlert:
                if (!Licensing.TryReadErrorAlert(message.Body, out var alert))
                {
                    throw new PhaseFailedException(Ending.ProtocolViolation, null, "a licensing error alert shorter than its fields");
                }

                if (alert!.IsValidClient)
                {
                    record.Detail = $"licensing: STATUS_VALID_CLIENT{after}";
                    return new LicensingResult(LicensingOutcome.ValidClient, alert, requested);
                }

                record.Fail(Ending.ServerErrorInfo, Codes.License(alert), $"licensing ended with {alert.Name} ({alert.StateTransitionName}){after}: {alert.Meaning}");
                return new LicensingResult(LicensingOutcome.Error, alert, requested);

            case LicenseMessageType.NewLicense or LicenseMessageType.UpgradeLicense:
                record.Detail = $"licensing: the server issued a license ({message.Preamble.Type}){after}";
                return new LicensingResult(LicensingOutcome.LicenseIssued, null, requested);

            case LicenseMessageType.PlatformChallenge:
                // A licensed RD Session Host: the full CAL exchange (MS-RDPELE 1.3.3) would follow; the probe stops here.
                record.Detail = $"the server runs Remote Desktop licensing: it answered the license request with a Platform Challenge{after}. A real client completes the CAL exchange here; this probe stops";
                return new LicensingResult(LicensingOutcome.LicenseRequested, null, requested);

            default:
                return null;
        }
    }
}
