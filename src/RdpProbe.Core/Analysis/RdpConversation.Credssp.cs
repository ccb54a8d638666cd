using RdpProbe.Diagnosis;
using RdpProbe.Protocol;

namespace RdpProbe.Analysis;

/// <summary>
/// A run of TLS application-data records from one side, with no record from the other side in between. A value kept
/// in the conversation's list (no object per flight: a handshake has a dozen or more of them).
/// </summary>
internal struct Flight(bool fromClient, int index, int firstFrame)
{
    public bool FromClient { get; } = fromClient;
    public int Index { get; } = index;
    public int FirstFrame { get; } = firstFrame;
    public int LastFrame { get; set; } = firstFrame;
    public int Records { get; set; }
    public long Bytes { get; set; }
    public int FirstRecordLength { get; set; }
    public int? PlaintextEstimate { get; set; }
    public string Label { get; set; } = "";
}

/// <summary>
/// The encrypted part: after the TLS handshake only record sizes and their order are visible. The CredSSP exchange
/// has a fixed shape (MS-CSSP 3.1.5): NEGOTIATE → CHALLENGE → AUTHENTICATE+pubKeyAuth →
/// pubKeyAuth or errorCode → authInfo → (HYBRID_EX) Early User Authorization Result, then MCS. Flights are matched
/// to that shape; everything derived here is marked inferred.
/// </summary>
internal sealed partial class RdpConversation
{
    /// <summary>Plaintext at or below this many bytes in the server's answer to AUTHENTICATE is an error TSRequest
    /// (≈15–17 bytes with errorCode), not pubKeyAuth (≈60 bytes or more for v5/v6). An observed threshold, not a
    /// specified one (MS-CSSP 2.2.1 sizes).</summary>
    public const int ErrorSizedPlaintextLimit = 32;

    /// <summary>How many flights after the TLS handshake are remembered one by one (the rest are only counted).</summary>
    private const int MaxRecordedFlights = 16;

    public bool? ErrorSizedAnswer { get; private set; }
    public bool AlertSizedAnswer { get; private set; }
    public int? EarlyAuthPlaintext { get; private set; }
    public string? LastCredsspRound { get; private set; }

    public bool ExpectsCredssp
    {
        get
        {
            var selected = Confirm?.SelectedProtocol;
            if (selected is { } s)
            {
                return (s & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0;
            }

            // No confirm seen (capture started late): guess from what the client asked for.
            var requested = Request?.RequestedProtocols;
            return requested is { } r && (r & (SecurityProtocols.Hybrid | SecurityProtocols.HybridEx)) != 0;
        }
    }

    public bool ExpectsEarlyAuth => Confirm?.SelectedProtocol == SecurityProtocols.HybridEx;

    public int? PlaintextEstimate(int recordLength)
    {
        if (ServerHello is not { } sh)
        {
            return null;
        }

        int estimate = recordLength - TlsRecordHeader.Size - TlsHandshake.RecordOverhead(sh.Version, sh.CipherSuite);
        return Math.Max(estimate, 0);
    }

    private void OnApplicationData(bool fromClient, int length, int firstFrame, int lastFrame)
    {
        if (!TlsDone)
        {
            if (Tls13 && !fromClient)
            {
                // TLS 1.3 wraps the server's EncryptedExtensions..Finished in application-data records (RFC 8446 §5).
                Touch(Phase.Tls, lastFrame);
                return;
            }

            TlsDone = true;
            if (Tls13 && fromClient && !_client13FinishedSeen)
            {
                // The client's first record in TLS 1.3 is its Finished.
                _client13FinishedSeen = true;
                Touch(Phase.Tls, lastFrame);
                return;
            }
        }

        if (SessionReached)
        {
            Touch(Current!.Value, lastFrame);
            return;
        }

        // TLS 1.3 sends alerts as application-data records (RFC 8446 §5.2); two bytes of plaintext is an alert
        // (close_notify or an error), not CredSSP or RDP data.
        if (Tls13 && PlaintextEstimate(length) is 2)
        {
            Alerts.Add((firstFrame, fromClient, null, true));
            Anomalies.Add(AnomalyKinds.TlsAlert, Current, fromClient ? "client" : "server", firstFrame,
                "encrypted alert (inferred: a TLS 1.3 application-data record with 2 bytes of plaintext, the size of an alert)", inferred: true);
            if (!fromClient && ExpectsCredssp && FlightCount == 3 && _lastFlightFromClient)
            {
                AlertSizedAnswer = true;
                LastCredsspRound = "alert";
            }

            _phases.TouchCurrent(lastFrame);

            return;
        }

        // Server records before the client's first flight (TLS 1.3 NewSessionTicket) are not part of CredSSP.
        if (FlightCount == 0 && !fromClient)
        {
            Touch(Current ?? Phase.Tls, lastFrame);
            return;
        }

        bool newFlight = FlightCount == 0 || _lastFlightFromClient != fromClient;
        if (newFlight)
        {
            FlightCount++;
            _lastFlightFromClient = fromClient;
            _flight = new Flight(fromClient, FlightCount - 1, firstFrame) { FirstRecordLength = length, PlaintextEstimate = PlaintextEstimate(length) };
            _flights ??= new List<Flight>(MaxRecordedFlights);
            _flightRecorded = _flights.Count < MaxRecordedFlights;
            if (_flightRecorded)
            {
                _flights.Add(_flight);
            }
        }

        // The flight being added to (the latest one, recorded or only counted); the list's copy is kept in step.
        int n = FlightCount - 1;
        int recordInFlight = _flight.Records;
        _flight.Records++;
        _flight.Bytes += length;
        _flight.LastFrame = lastFrame;

        var (phase, label) = Classify(n, recordInFlight, fromClient, length, _flight);
        if (recordInFlight == 0)
        {
            _flight.Label = label;
        }

        if (_flightRecorded)
        {
            _flights![^1] = _flight;
        }

        Enter(phase, firstFrame, inferred: true);
        Touch(phase, lastFrame);
    }

    private (Phase Phase, string Label) Classify(int n, int recordInFlight, bool fromClient, int length, in Flight flight)
    {
        int sessionBase;
        if (ExpectsCredssp)
        {
            bool ex = ExpectsEarlyAuth;
            switch (n)
            {
                case 0:
                    LastCredsspRound = "negotiate";
                    return (Phase.Credssp, "negotiate");
                case 1:
                    LastCredsspRound = "challenge";
                    return (Phase.Credssp, "challenge");
                case 2:
                    LastCredsspRound = "authenticate";
                    return (Phase.Credssp, "authenticate");
                case 3:
                    if (recordInFlight == 0)
                    {
                        int? plain = PlaintextEstimate(length);
                        ErrorSizedAnswer = plain is { } p ? p <= ErrorSizedPlaintextLimit : length <= 5 + 24 + ErrorSizedPlaintextLimit;

                        // Two bytes of plaintext is an alert (TLS 1.3 hides its content type inside the record,
                        // RFC 8446 §5.2): the server answered AUTHENTICATE with an alert, not a TSRequest.
                        AlertSizedAnswer = plain is <= 2;
                        LastCredsspRound = AlertSizedAnswer ? "alert" : ErrorSizedAnswer == true ? "error" : "pubKeyAuth";
                    }

                    return (Phase.Credssp, AlertSizedAnswer ? "alert" : ErrorSizedAnswer == true ? "errorCode" : "pubKeyAuth");
                case 4:
                    if (recordInFlight == 0)
                    {
                        LastCredsspRound = "authInfo";
                        return (Phase.Credssp, "authInfo");
                    }

                    return (Phase.Mcs, "mcs_connect_initial");
                case 5 when ex:
                    if (recordInFlight == 0)
                    {
                        EarlyAuthPlaintext = PlaintextEstimate(length);
                    }

                    return (Phase.EarlyAuth, "early_user_authorization_result");
                case 5:
                    return (Phase.Mcs, "mcs_connect_response");
                case 6 when ex:
                    return (Phase.Mcs, "mcs_connect_initial");
                case 7 when ex:
                    return (Phase.Mcs, "mcs_connect_response");
            }

            sessionBase = ex ? 8 : 6;
        }
        else
        {
            switch (n)
            {
                case 0:
                    return (Phase.Mcs, "mcs_connect_initial");
                case 1:
                    return (Phase.Mcs, "mcs_connect_response");
            }

            sessionBase = 2;
        }

        // After MCS Connect: channel joins and the other small steps, then the server's Demand Active and the
        // first screen updates, which are larger. Only the shape is visible, so this is a coarse, inferred split.
        if (n >= sessionBase + 10 || (!fromClient && flight.Bytes > 2000 && n >= sessionBase + 2))
        {
            return (Phase.Capabilities, "session");
        }

        return (Phase.Channels, "channels");
    }
}
