import Kernel

/// The stages a card sale reports while it runs: the `/v1/session` lifecycle events before `result`.
enum SaleStage: String, Sendable {
    case waitingForCard = "waiting_for_card"
    case cardDetected = "card_detected"
    case processing
}

/// Who hears a sale's stages. The session puts one in the request context (`SaleProgressSlot`) before it calls the
/// same `TransactionService.sale` that `POST /v1/transaction/sale` calls: one engine, two transports; an HTTP
/// sale has none and reports nothing.
struct SaleProgress: Sendable {
    let report: @Sendable (SaleStage, _ transactionId: String) -> Void
}

enum SaleProgressSlot: RequestContextSlot {
    typealias Value = SaleProgress
}
