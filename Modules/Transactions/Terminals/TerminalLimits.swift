/// Every bound of the device channel and the `/v1/device/*` routes, named (docs/terminals.md lists them).
/// WHY bounds at all: a terminal is a remote peer and a POS is an untrusted caller; each number below caps
/// what one of them can make the server hold (waiters, bytes, database writes, time).
struct TerminalLimits: Sendable, Hashable {
    /// How long display, print and health wait for the terminal's answer before 504 TERMINAL_TIMEOUT.
    var commandTimeoutMilliseconds = 10_000
    /// Added to an input's own `timeoutMs`: the terminal times the prompt itself and answers `timedOut`; only when
    /// that answer is also late does the server answer `timedOut` on its behalf (and send the terminal a cancel).
    var inputGraceMilliseconds = 5_000
    /// Commands sent to one terminal and not yet answered; one more is 409 TERMINAL_BUSY.
    var pendingCommandsPerTerminalMax = 8
    /// A channel message from the terminal (hello, status, result) larger than this closes the channel with 1009.
    var messageBytesMax = 16 * 1024
    /// From the upgrade to the terminal's hello; a silent connection is closed with 1008 after it.
    var helloTimeoutMilliseconds = 10_000
    /// Status reports closer together than this are acknowledged but not written, so a chatty terminal costs
    /// at most one registry write per interval.
    var statusIntervalMillisecondsMin = 1_000
    /// How long a terminal stays online in the registry without its instance renewing the lease. A crashed instance
    /// renews nothing, so its terminals go offline (with `terminal.offline`) within this plus one sweep interval.
    var presenceLeaseSeconds: Double = 30
    /// Between two renewals of every lease this instance holds (one UPDATE each time); a third of the lease, so two
    /// renewals can fail (a database restart) before a live terminal is swept.
    var presenceRenewIntervalSeconds: Double = 10
    /// Between two sweeps for expired leases.
    var presenceSweepIntervalSeconds: Double = 5
    /// Terminals one sweep transaction marks offline; a sweep runs batches back to back while they come back full.
    var presenceSweepBatchMax = 500
    /// Full sweep batches run back to back before waiting for the next interval.
    var presenceSweepBatchesMax = 20
    /// How long a live granular `initiate` waits for the terminal's card read (the cardholder taps, inserts or gives up)
    /// before 504 TERMINAL_TIMEOUT.
    var cardReadTimeoutMilliseconds = 60_000
    /// Relay (TerminalRelay.swift): a relay message whose JSON is larger than this travels in a row of
    /// `transactions_terminal_relay_bodies` and the NOTIFY carries its id (PostgreSQL refuses payloads of 8,000 bytes).
    var relayNotifyBytesMax = 7_000
    /// How long the requesting instance waits for the holder's acknowledgement; none → 503 TERMINAL_OFFLINE (the holder
    /// crashed or lost its database listener although its lease still runs).
    var relayAcknowledgeTimeoutMilliseconds = 3_000
    /// Added to a relayed command's own wait: the holder answers `timedOut` at the wait; no reply even after this grace
    /// means the holder vanished mid-command → 503 TERMINAL_OFFLINE.
    var relayReplyGraceMilliseconds = 3_000
    /// Relayed commands this instance may wait for at once (all terminals); one more is 409 TERMINAL_BUSY.
    var relayWaitingMax = 256
    /// Relayed commands this instance may run for other instances at once; one more is answered TERMINAL_BUSY.
    var relayServingMax = 256
    /// A relay body row nobody took (its reader crashed) is deleted by the presence sweep after this long.
    var relayBodyRetentionSeconds: Double = 300

    // Request fields (spec §3.3 where it gives a number; ours where it does not).
    static let displayLinesMax = 10
    static let printLinesMax = 100
    static let lineTextLengthMax = 256
    static let displayDurationMillisecondsMax: Int64 = 3_600_000
    static let promptLengthMax = 100
    static let inputTimeoutMilliseconds: ClosedRange<Int64> = 1_000...120_000
    static let inputTimeoutMillisecondsDefault: Int64 = 30_000
    static let inputLengthMax: Int64 = 256
    static let selectionOptionsMax = 20
    static let selectionOptionLengthMax = 100
    /// The longest value a terminal may answer to an input prompt.
    static let answerValueLengthMax = 1_024
}
