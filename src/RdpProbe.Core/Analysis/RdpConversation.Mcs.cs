using System.Buffers.Binary;
using RdpProbe.Diagnosis;

namespace RdpProbe.Analysis;

/// <summary>
/// Standard RDP Security (selected protocol "rdp"): the connection sequence is in clear up to the Security
/// Exchange, so the MCS/GCC steps are read directly (T.125 BER for Connect-Initial/Response, PER DomainMCSPDUs;
/// MS-RDPBCGR 2.2.1.3–2.2.1.12). Only the few fields a diagnosis needs are decoded.
/// </summary>
internal sealed partial class RdpConversation
{
    private const ushort ClientSecurityData = 0xC002;  // CS_SECURITY (MS-RDPBCGR 2.2.1.3.3)
    private const ushort ServerSecurityData = 0x0C02;  // SC_SECURITY (MS-RDPBCGR 2.2.1.4.3)

    private void OnMcs(bool fromClient, ReadOnlySpan<byte> mcs, int firstFrame, int lastFrame)
    {
        // Connect-Initial / Connect-Response are BER APPLICATION 101 / 102 (T.125 §11.1): 7F 65 / 7F 66.
        if (mcs.Length >= 2 && mcs[0] == 0x7F && (mcs[1] == 0x65 || mcs[1] == 0x66))
        {
            Enter(Phase.Mcs, firstFrame, false);
            Touch(Phase.Mcs, lastFrame);
            if (mcs[1] == 0x65)
            {
                if (TryFindGccBlock(mcs, "Duca"u8, ClientSecurityData, out var block) && block.Length >= 8)
                {
                    ClientEncryptionMethods = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
                }
            }
            else
            {
                McsResult = ReadConnectResponseResult(mcs);
                if (TryFindGccBlock(mcs, "McDn"u8, ServerSecurityData, out var block) && block.Length >= 12)
                {
                    EncryptionMethod = BinaryPrimitives.ReadUInt32LittleEndian(block[4..]);
                    EncryptionLevel = BinaryPrimitives.ReadUInt32LittleEndian(block[8..]);
                }
            }

            return;
        }

        int choice = mcs[0] >> 2;
        switch (choice)
        {
            case 1:   // Erect Domain Request
            case 10:  // Attach User Request
            case 11:  // Attach User Confirm
            case 14:  // Channel Join Request
            case 15:  // Channel Join Confirm
                Enter(Phase.Channels, firstFrame, false);
                Touch(Phase.Channels, lastFrame);
                return;
            case 8:   // Disconnect Provider Ultimatum
                if (!fromClient)
                {
                    ServerDisconnectUltimatum = true;
                    ServerUltimatumFrame = firstFrame;
                }

                _phases.TouchCurrent(lastFrame);

                return;
            case 25:  // Send Data Request (client → server)
            case 26:  // Send Data Indication (server → client)
                OnSendData(fromClient, mcs, firstFrame, lastFrame);
                return;
        }
    }

    private void OnSendData(bool fromClient, ReadOnlySpan<byte> mcs, int firstFrame, int lastFrame)
    {
        // initiator(2) channelId(2) dataPriority/segmentation(1) then a PER length (1 or 2 bytes), T.125 §11.32.
        if (mcs.Length < 8)
        {
            return;
        }

        int offset = 6;
        offset += (mcs[offset] & 0x80) != 0 ? 2 : 1;
        if (mcs.Length < offset + 4)
        {
            return;
        }

        var data = mcs[offset..];
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(data);

        // Basic security header flags, MS-RDPBCGR 2.2.8.1.1.2.1.
        if (fromClient && (flags & 0x0001) != 0)
        {
            SecurityExchangeSeen = true;
            Enter(Phase.SecurityExchange, firstFrame, false);
            Touch(Phase.SecurityExchange, lastFrame);
            return;
        }

        if (fromClient && (flags & 0x0040) != 0)
        {
            ClientInfoSeen = true;
            Enter(Phase.ClientInfo, firstFrame, false);
            Touch(Phase.ClientInfo, lastFrame);
            return;
        }

        if (!fromClient && (flags & 0x0080) != 0)
        {
            Enter(Phase.Licensing, firstFrame, false);
            Touch(Phase.Licensing, lastFrame);

            // Preamble readable unless the licensing PDU itself is encrypted (SEC_ENCRYPT 0x0008), MS-RDPBCGR 2.2.1.12.
            if ((flags & 0x0008) == 0 && data.Length >= 8)
            {
                byte msgType = data[4];
                LicensingResult = msgType switch
                {
                    0x01 => "license_request",
                    0x02 => "platform_challenge",
                    0x03 => "new_license",
                    0x04 => "upgrade_license",
                    0xFF when data.Length >= 12 => BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) == 7 ? "status_valid_client" : $"error_alert_0x{BinaryPrimitives.ReadUInt32LittleEndian(data[8..]):x}",
                    _ => $"message_0x{msgType:x2}",
                };
            }
            else
            {
                LicensingResult ??= "encrypted";
            }

            return;
        }

        if (Current >= Phase.ClientInfo)
        {
            // Past Client Info the PDUs are encrypted; the Demand Active / Confirm Active exchange and the session follow.
            Enter(Phase.Capabilities, firstFrame, inferred: true);
            Touch(Phase.Capabilities, lastFrame);
            _clientWalker.AllowFastPath = true;
            _serverWalker.AllowFastPath = true;
        }
    }

    /// <summary>Connect-Response: BER length, then result ENUMERATED (tag 0x0A) first (T.125 §11.2).</summary>
    private static int? ReadConnectResponseResult(ReadOnlySpan<byte> mcs)
    {
        int i = 2;
        if (!TrySkipBerLength(mcs, ref i) || mcs.Length < i + 3 || mcs[i] != 0x0A || mcs[i + 1] != 1)
        {
            return null;
        }

        return mcs[i + 2];
    }

    private static bool TrySkipBerLength(ReadOnlySpan<byte> data, ref int i)
    {
        if (i >= data.Length)
        {
            return false;
        }

        byte first = data[i++];
        if ((first & 0x80) == 0)
        {
            return true;
        }

        int n = first & 0x7F;
        i += n;
        return n is > 0 and <= 2 && i <= data.Length;
    }

    /// <summary>
    /// Finds a GCC user-data block (type u16 LE, length u16 LE incl. header; MS-RDPBCGR 2.2.1.3.1) after the H.221
    /// key ("Duca" client, "McDn" server) and its PER length.
    /// </summary>
    private static bool TryFindGccBlock(ReadOnlySpan<byte> mcs, ReadOnlySpan<byte> key, ushort type, out ReadOnlySpan<byte> block)
    {
        block = default;
        int at = mcs.IndexOf(key);
        if (at < 0)
        {
            return false;
        }

        int i = at + key.Length;
        if (i >= mcs.Length)
        {
            return false;
        }

        i += (mcs[i] & 0x80) != 0 ? 2 : 1;
        for (int guard = 0; guard < 64 && i + 4 <= mcs.Length; guard++)
        {
            ushort blockType = BinaryPrimitives.ReadUInt16LittleEndian(mcs[i..]);
            ushort blockLength = BinaryPrimitives.ReadUInt16LittleEndian(mcs[(i + 2)..]);
            if (blockLength < 4 || i + blockLength > mcs.Length)
            {
                return false;
            }

            if (blockType == type)
            {
                block = mcs.Slice(i, blockLength);
                return true;
            }

            i += blockLength;
        }

        return false;
    }
}
