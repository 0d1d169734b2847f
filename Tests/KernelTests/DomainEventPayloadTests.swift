import Foundation
import Kernel
import Testing

/// An event read back from the log keeps its payload as text until it is first read; it then equals the event built
/// from the parsed value. Text that does not parse reads as null (consumers treat it as a malformed payload).
@Suite struct DomainEventPayloadTests {
    let tenant = TenantContext(merchantId: "mer_1", mode: .test)
    let at = Date(timeIntervalSince1970: 1_775_000_000)

    @Test func aLazyPayloadEqualsTheParsedOne() throws {
        let id = TypedID.generate(prefix: .event)
        let text = #"{"amount":2500,"note":"a \"q\"","nested":{"list":[1,null,true]}}"#
        let lazy = DomainEvent(id: id, type: "transaction.approved", tenant: tenant, resourceId: "txn_1", occurredAt: at,
                               payloadText: text)
        let eager = DomainEvent(id: id, type: "transaction.approved", tenant: tenant, resourceId: "txn_1", occurredAt: at,
                                payload: try JSONValue(parsing: text))
        #expect(lazy.payload["amount"]?.intValue == 2500)
        #expect(lazy.payload["note"]?.stringValue == #"a "q""#)
        #expect(lazy == eager)
        #expect(Set([lazy, eager]).count == 1)
    }

    @Test func textThatDoesNotParseReadsAsNull() {
        let event = DomainEvent(id: TypedID.generate(prefix: .event), type: "x.y", tenant: tenant, resourceId: "r",
                                occurredAt: at, payloadText: "{not json")
        #expect(event.payload == .null)
        #expect(event.payload["amount"] == nil)
    }
}
