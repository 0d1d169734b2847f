import AtlasTestSupport
import Foundation
import Kernel
import Synchronization
import Testing
@testable import Auth

/// Authentication happens once, on the upgrade request of a WebSocket route (`RouteGroup.webSocket`): the route
/// group's guard accepts `X-Api-Key`, `Authorization: Bearer` (key or JWT), and, on WebSocket routes only,
/// `?apiKey=`. A failure is the surface's ordinary 401 body, before any upgrade. In-process: a 101 carrying a
/// session means the guard let the upgrade through.
@Suite struct WebSocketAuthTests {
    static let upgradeHeaders: [(String, String)] = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                      ("Sec-WebSocket-Version", "13"),
                                                      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]

    static func upgrade(_ fixture: AuthFixture, target: String = "/v1/probe/ws",
                        headers: [(String, String)] = []) async -> Response {
        await fixture.client.send(.get, target, headers: HTTPHeaders(upgradeHeaders + headers))
    }

    @Test func eachSchemeUpgrades() async throws {
        let fixture = try await OAuthFixture.make()
        let base = fixture.base
        let header = await Self.upgrade(base, headers: [("X-Api-Key", base.liveKey)])
        #expect(header.status == 101)
        #expect(header.webSocket != nil)
        let bearerKey = await Self.upgrade(base, headers: [("Authorization", "Bearer \(base.testKey)")])
        #expect(bearerKey.status == 101)
        let jwt = try await fixture.token(scope: "transactions:read")
        let bearerJWT = await Self.upgrade(base, headers: [("Authorization", "Bearer \(jwt)")])
        #expect(bearerJWT.status == 101)
        let query = await Self.upgrade(base, target: "/v1/probe/ws?apiKey=\(base.liveKey)")
        #expect(query.status == 101)
        #expect(query.webSocket != nil)
    }

    @Test func failuresAreThe401BodyBeforeAnyUpgrade() async throws {
        let fixture = try await AuthFixture.make()
        let unknown = "sk_live_" + String(repeating: "0", count: 48)
        for response in [await Self.upgrade(fixture),
                         await Self.upgrade(fixture, headers: [("X-Api-Key", unknown)]),
                         await Self.upgrade(fixture, headers: [("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.x")]),
                         await Self.upgrade(fixture, target: "/v1/probe/ws?apiKey=\(unknown)"),
                         await Self.upgrade(fixture, target: "/v1/probe/ws?apiKey=")] {
            #expect(response.status == 401)
            #expect(response.webSocket == nil)
            #expect(response.bodyJSON?["error"] == "UNAUTHORIZED")
            #expect(response.bodyJSON?["requestId"]?.stringValue != nil)
            #expect(!response.bodyText.contains(unknown))
        }
        // A header credential wins over the query: an invalid header is not rescued by a valid query key.
        let both = await Self.upgrade(fixture, target: "/v1/probe/ws?apiKey=\(fixture.liveKey)",
                                      headers: [("X-Api-Key", unknown)])
        #expect(both.status == 401)
        // X-Api-Key and Bearer together are refused here as everywhere.
        let two = await Self.upgrade(fixture, headers: [("X-Api-Key", fixture.liveKey), ("Authorization", "Bearer x.y.z")])
        #expect(two.status == 400)
    }

    @Test func queryKeyIsRefusedOnOrdinaryRoutes() async throws {
        let fixture = try await AuthFixture.make()
        let plain = await fixture.client.send(.get, "/v1/probe/read?apiKey=\(fixture.liveKey)")
        #expect(plain.status == 401)
        // Upgrade headers do not make an ordinary route a WebSocket route.
        let dressed = await Self.upgrade(fixture, target: "/v1/probe/read?apiKey=\(fixture.liveKey)")
        #expect(dressed.status == 401)
        #expect(!dressed.bodyText.contains(fixture.liveKey))
    }

    @Test func theSessionSeesThePrincipalButNotTheQueryKey() async throws {
        let fixture = try await AuthFixture.make()
        let response = await Self.upgrade(fixture, target: "/v1/probe/ws?apiKey=\(fixture.liveKey)&resume=abc")
        let upgrade = try #require(response.webSocket)
        let connection = RecordingConnection()
        await upgrade.run(connection)
        let sent = try #require(connection.sent.withLock { $0 }.first)
        guard case .text(let text) = sent else { Issue.record("expected text"); return }
        #expect(text.contains(fixture.merchantId))
        #expect(text.contains("/v1/probe/ws?resume=abc"))
        #expect(!text.contains(fixture.liveKey))
        #expect(connection.closes.withLock { $0 } == [1000])
    }
}

/// A `WebSocketConnection` with no socket: records what a session sends.
final class RecordingConnection: WebSocketConnection {
    let sent = Mutex<[WebSocketMessage]>([])
    let closes = Mutex<[UInt16]>([])

    func receive() async -> WebSocketMessage? { nil }
    func send(_ message: WebSocketMessage) throws(WebSocketSendError) { sent.withLock { $0.append(message) } }
    func close(code: WebSocketCloseCode, reason: String) { closes.withLock { $0.append(code.rawValue) } }
    var peerCloseCode: WebSocketCloseCode? { nil }
}
