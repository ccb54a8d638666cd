using System.Security.Cryptography;
using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Probe.Phases;

internal sealed record SecurityExchangeResult(bool Established, EncryptionMethods Method, EncryptionLevel Level, string? CertificateDescription)
{
    public string MethodName => Gcc.MethodName(Method);
}

/// <summary>
/// The security_exchange phase (RDP Security Commencement, MS-RDPBCGR 1.3.1.1 phase 4; standard RDP security only):
/// the client random encrypted with the server's RSA key, then both sides derive the RC4 keys. No answer comes; a
/// wrong key only shows when the server cannot decrypt the Client Info PDU.
/// </summary>
internal static class SecurityExchangePhase
{
    internal static async Task<SecurityExchangeResult> RunAsync(RdpSession session, PhaseRecord record, CancellationToken ct)
    {
        var io = new PhaseIo(session.Stream, record, ct);
        var security = session.Server?.Security;
        var method = security?.Method ?? EncryptionMethods.None;
        var level = security?.Level ?? EncryptionLevel.None;
        string? certificateText = session.ServerCertificate?.Describe();
        try
        {
            if (session.EnhancedSecurity || method == EncryptionMethods.None)
            {
                record.Skip(session.EnhancedSecurity ? "TLS protects the connection: no RDP security exchange" : "the server chose no RDP encryption (method none): nothing to exchange");
                return new SecurityExchangeResult(false, method, level, certificateText);
            }

            if (method == EncryptionMethods.Fips)
            {
                // FIPS (3DES-CBC, HMAC-SHA1, MS-RDPBCGR 5.3.5.2) is not implemented by this probe.
                record.Skip("the server chose FIPS encryption (3DES with HMAC-SHA1), which this probe does not implement; the encryption-level check shows which methods it accepts");
                return new SecurityExchangeResult(false, method, level, certificateText);
            }

            var certificate = session.ServerCertificate ?? throw new PhaseFailedException(Ending.ProtocolViolation, null, "no server certificate to encrypt the client random with");
            byte[] clientRandom = RandomNumberGenerator.GetBytes(StandardSecurity.RandomLength);
            byte[] encrypted = StandardSecurity.EncryptClientRandom(clientRandom, certificate);
            io.Doing = "sending the Security Exchange PDU";
            await session.SendIoRawAsync(io, StandardSecurity.EncodeSecurityExchange(encrypted),
                $"Security Exchange PDU (client random encrypted with the server's RSA {certificate.KeyBits}-bit key)").ConfigureAwait(false);

            var keys = StandardSecurity.DeriveKeys(clientRandom, session.Server!.Security!.ServerRandom!, method);
            CryptographicOperations.ZeroMemory(clientRandom);
            session.Cipher = new RdpCipherState(keys);
            record.Detail = $"{Gcc.MethodName(method)} RC4 keys derived (level {Gcc.LevelName(level)}); server key from {certificateText}";
            return new SecurityExchangeResult(true, method, level, certificateText);
        }
        catch (Exception ex)
        {
            io.RecordFailure(ex);
            return new SecurityExchangeResult(false, method, level, certificateText);
        }
    }
}
