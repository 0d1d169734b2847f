import Kernel

/// A checkout's line items: checked, totalled with overflow checks, and stored as AP-CHK shows them.
enum CheckoutLineItems {
    struct Item: Sendable {
        let unitAmount: Int64
        let quantity: Int64
        let description: String?
        let amountTotal: Int64
    }

    static func check(_ items: [CheckoutSessions.LineItemBody]?) throws(AtlasError) -> [Item] {
        guard let items, !items.isEmpty else { throw .missingField("line_items") }
        guard items.count <= CheckoutSessions.lineItemsMax else {
            throw .invalidField("line_items", "line_items may have at most \(CheckoutSessions.lineItemsMax) entries",
                                constraint: "maxItems")
        }
        var checked: [Item] = []
        for (index, item) in items.enumerated() {
            let field = "line_items[\(index)]"
            let unitAmount = try price(item.price, field: field + ".price")
            guard let quantity = item.quantity else { throw .missingField(field + ".quantity") }
            guard (1...CheckoutSessions.quantityMax).contains(quantity) else {
                throw .invalidField(field + ".quantity", "quantity must be 1 to \(CheckoutSessions.quantityMax)",
                                    constraint: "range", value: .int(quantity))
            }
            try PaymentSessions.checkText(item.description, field + ".description", max: PaymentSessions.textLengthMax)
            let (amount, overflow) = unitAmount.multipliedReportingOverflow(by: quantity)
            guard !overflow, amount <= SaleLimits.defaultAmountCeilingMinorUnits else { throw tooLarge(field: field + ".price") }
            checked.append(Item(unitAmount: unitAmount, quantity: quantity, description: item.description, amountTotal: amount))
        }
        return checked
    }

    /// Each item is at most the ceiling, so with at most `lineItemsMax` items the sum cannot overflow.
    static func total(_ items: [Item]) throws(AtlasError) -> Int64 {
        let total = items.reduce(Int64(0)) { $0 + $1.amountTotal }
        guard total <= SaleLimits.defaultAmountCeilingMinorUnits else { throw tooLarge(field: "line_items") }
        assert(total > 0, "every item has a positive amount")
        return total
    }

    static func json(_ items: [Item]) -> SQLValue {
        let array: JSONValue = .array(items.map { item in
            ["object": "item", "price": .int(item.unitAmount), "quantity": .int(item.quantity),
             "description": item.description.map { .string($0) } ?? .null, "amount_total": .int(item.amountTotal)]
        })
        return .json(String(decoding: array.serialized(), as: UTF8.self))
    }

    /// A unit amount in minor units; a price id (a string) names a catalogue Atlas does not have.
    private static func price(_ value: JSONValue?, field: String) throws(AtlasError) -> Int64 {
        guard let value else { throw .missingField(field) }
        guard case .int(let amount) = value else {
            throw .invalidField(field, "\(field) must be the unit amount in minor units (an integer); price ids are not supported",
                                constraint: "type")
        }
        guard amount > 0 else {
            throw AtlasError(kind: .invalidAmount, status: 400, code: "INVALID_AMOUNT", message: "Amount must be a positive integer",
                             details: ErrorDetails(field: field, value: .int(amount), constraint: "minimum"))
        }
        return amount
    }

    private static func tooLarge(field: String) -> AtlasError {
        AtlasError(kind: .invalidAmount, status: 400, code: "INVALID_AMOUNT", message: "The checkout total exceeds the maximum",
                   details: ErrorDetails(field: field, constraint: "maximum"))
    }
}
