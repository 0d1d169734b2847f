import AtlasTestSupport
import Foundation
import Kernel
import Testing

/// `/v1/session` end to end: the whole app router behind Atlas's HTTP server, driven by the Python `websockets`
/// client: each authentication scheme at the upgrade (and a bad key refused with 401 before any upgrade), then
/// spec case A47 (a sale's lifecycle events in order, then its result).
@Suite struct WebSocketSessionTests {
    static let script = """
    import asyncio, json, sys
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def sale(url, headers):
        async with connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"action": "sale", "amount": 2500, "currency": "NZD"}))
            events = []
            while True:
                event = json.loads(await ws.recv())
                if event["event"] in ("session", "heartbeat"):
                    continue
                events.append(event)
                if event["event"] in ("result", "error"):
                    break
            return events

    async def main(port, key):
        base = f"ws://127.0.0.1:{port}/v1/session"
        for label, url, headers in [("query", f"{base}?apiKey={key}", {}), ("header", base, {"X-Api-Key": key}),
                                    ("bearer", base, {"Authorization": f"Bearer {key}"})]:
            events = await sale(url, headers)
            ids = {e.get("transactionId") for e in events}
            print(label, ",".join(e["event"] for e in events), events[-1]["transaction"]["status"], len(ids))
        try:
            await sale(f"{base}?apiKey=sk_test_{'0' * 48}", {})
        except InvalidStatus as refused:
            print("refused", refused.response.status_code, json.loads(refused.response.body)["error"])

    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
    """

    /// Needs `pip install websockets`; skipped when python3 lacks it.
    @Test(.enabled(if: PythonWebSocketScript.isAvailable)) func a47OverARealSocketWithEachScheme() async throws {
        let harness = try await AppHarness.make()
        defer { harness.close() }
        let key = try await harness.secretKey()
        let outcome = try await PythonWebSocketScript.run(Self.script, serving: harness.router, arguments: [key])
        #expect(outcome.status == 0, "\(outcome.output)")
        let lifecycle = "waiting_for_card,card_detected,processing,result APPROVED 1"
        for label in ["query", "header", "bearer"] {
            #expect(outcome.output.contains("\(label) \(lifecycle)"), "\(outcome.output)")
        }
        #expect(outcome.output.contains("refused 401 UNAUTHORIZED"), "\(outcome.output)")
    }
}
