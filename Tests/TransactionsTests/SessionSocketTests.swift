import AtlasTestSupport
import Foundation
import Kernel
import Testing
@testable import Transactions

/// `/v1/session` over a real socket with the Python `websockets` client: A49 (a granular sale completed on the
/// session) and a resume after the client drops its socket in the middle of a sale, with no event lost.
@Suite struct SessionSocketTests {
    static let script = """
    import asyncio, json, sys
    from websockets.asyncio.client import connect

    async def until(ws, name, seen):
        while True:
            event = json.loads(await ws.recv())
            if event["event"] != "heartbeat":
                seen.append(event)
            if event["event"] in (name, "error"):
                return event

    async def granular(base):
        seen = []
        async with connect(base) as ws:
            await until(ws, "session", seen)
            await ws.send(json.dumps({"action": "sale", "granular": True, "amount": 2500, "currency": "NZD"}))
            auth = await until(ws, "online_authorization", seen)
            await ws.send(json.dumps({"action": "complete", "transactionId": auth["transactionId"],
                                      "responseCode": "00", "authorizationCode": "A1B2C3"}))
            result = await until(ws, "result", seen)
        print("a49", ",".join(e["event"] for e in seen), len(auth["emv"]["applicationCryptogram"]),
              result["transaction"]["status"], result["transaction"]["authorizationCode"])

    async def resume(base):
        seen = []
        ws = await connect(base)
        token = (await until(ws, "session", seen))["resumeToken"]
        await ws.send(json.dumps({"action": "sale", "amount": 7001, "currency": "NZD"}))
        waiting = await until(ws, "waiting_for_card", seen)
        ws.transport.abort()  # the socket drops: no close handshake
        await asyncio.sleep(2.5)  # the sale finishes while nobody listens
        replayed = []
        async with connect(f"{base}&resumeToken={token}&lastSeq={waiting['seq']}") as again:
            session = await until(again, "session", replayed)
            await until(again, "result", replayed)
        numbered = sorted({e["seq"] for e in seen + replayed if "seq" in e})
        print("resume", session["resumed"], session["eventsLost"], ",".join(e["event"] for e in replayed),
              numbered == list(range(1, len(numbered) + 1)), len({e["transactionId"] for e in seen + replayed if "seq" in e}))

    async def main(port, key):
        base = f"ws://127.0.0.1:{port}/v1/session?apiKey={key}"
        await granular(base)
        await resume(base)

    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
    """

    /// Needs `pip install websockets`; skipped when python3 lacks it.
    @Test(.enabled(if: PythonWebSocketScript.isAvailable)) func a49AndResumeOverARealSocket() async throws {
        let fixture = try await TransactionFixture.make(slowDelayMilliseconds: 1_500)
        defer { fixture.close() }
        let outcome = try await PythonWebSocketScript.run(Self.script, serving: fixture.client.responder, arguments: [fixture.testKey])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(outcome.output.contains(
            "a49 session,waiting_for_card,card_detected,processing,online_authorization,result 16 APPROVED A1B2C3"),
            "\(outcome.output)")
        #expect(outcome.output.contains("resume True False session,card_detected,processing,result True 1"), "\(outcome.output)")
    }
}
