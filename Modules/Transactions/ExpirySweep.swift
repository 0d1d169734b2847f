import Kernel

/// The loop and the rounds every expiry sweep of this module runs (granular transactions, pre-authorizations,
/// `/functions/v1` sessions): one copy, so their failure handling and pacing cannot drift apart.
enum ExpirySweep {
    /// Runs `round` every `intervalSeconds` beside the server until cancelled. A failed round is logged with
    /// `failureMessage` and the next one comes at the usual time (the rows stay due, so nothing is lost).
    static func loop(everySeconds intervalSeconds: Double, logger: Logger, failureMessage: String,
                     _ round: () async throws -> Void) async {
        while !Task.isCancelled {
            do {
                try await round()
            } catch {
                logger.warning(failureMessage, ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: .milliseconds(Int(intervalSeconds * 1000)))
        }
    }

    /// Batches back to back until one finds fewer than `batchMax` rows or `batchesMax` ran; returns the total.
    static func batches(max batchesMax: Int, batchMax: Int, _ batch: () async throws -> Int) async throws -> Int {
        var total = 0
        for _ in 0..<batchesMax {
            let handled = try await batch()
            total += handled
            if handled < batchMax { break }
        }
        return total
    }
}
