import Crypto
import Foundation
import Kernel
import Postgres
import Testing
import AtlasTestSupport
@testable import Auth

@Suite(.serialized) struct UsersTokenTests {
    /// B4: refresh returns a new access token and a rotated refresh token; garbage gets 401.
    @Test func refreshRotatesTokens() async throws {
        let fixture = try await UsersFixture.make()
        let (access, refresh) = try await fixture.tokens()
        let response = await fixture.refresh(refresh)
        #expect(response.status == 200)
        let body = try #require(response.bodyJSON)
        #expect(body["token_type"] == "bearer")
        #expect(body["expires_in"] == 3600)
        let newAccess = try #require(body["access_token"]?.stringValue)
        let newRefresh = try #require(body["refresh_token"]?.stringValue)
        #expect(newAccess != access && newRefresh != refresh)
        #expect(await fixture.me(newAccess).status == 200)
        #expect(await fixture.me(access).status == 200)  // earlier access tokens live out their hour
        #expect(await fixture.refresh(newRefresh).status == 200)

        let invalid = accountingError("Invalid or expired refresh token", status: 401)
        #expect(await fixture.refresh("garbage").bodyText == invalid)
        #expect(await fixture.refresh("rt_" + String(repeating: "0", count: 64)).bodyText == invalid)
        #expect(await fixture.refresh(access).bodyText == invalid)  // an access token is no refresh token
    }

    /// Reusing a spent refresh token revokes the whole family: its newer refresh token and every
    /// access token it issued die at once. Other logins of the same user are untouched.
    @Test func refreshTokenReuseRevokesTheFamily() async throws {
        let fixture = try await UsersFixture.make()
        let (access1, refresh1) = try await fixture.tokens()
        let (otherAccess, otherRefresh) = try await fixture.tokens()
        let rotated = await fixture.refresh(refresh1)
        let access2 = try #require(rotated.bodyJSON?["access_token"]?.stringValue)
        let refresh2 = try #require(rotated.bodyJSON?["refresh_token"]?.stringValue)
        #expect(await fixture.me(access2).status == 200)  // cached now

        let reuse = await fixture.refresh(refresh1)
        #expect(reuse.status == 401)
        #expect(reuse.bodyText == accountingError("Invalid or expired refresh token", status: 401))
        #expect(await fixture.refresh(refresh2).status == 401)
        #expect(await fixture.me(access1).status == 401)
        #expect(await fixture.me(access2).status == 401)
        #expect(await fixture.me(otherAccess).status == 200)
        #expect(await fixture.refresh(otherRefresh).status == 200)
        let family = try await fixture.database.queryFirst(
            "SELECT revoked_reason FROM auth_user_token_families WHERE revoked_at IS NOT NULL")
        #expect(family?.text("revoked_reason") == "refresh_token_reuse")
    }

    /// Two concurrent uses of one refresh token: exactly one can win; the loser is treated as reuse.
    @Test func concurrentRefreshesOfOneTokenSerialize() async throws {
        let fixture = try await UsersFixture.make()
        let (_, refresh) = try await fixture.tokens()
        async let first = fixture.refresh(refresh)
        async let second = fixture.refresh(refresh)
        let statuses = await [first.status, second.status].sorted()
        #expect(statuses == [200, 401])
    }

    /// B5: access tokens expire after one hour.
    @Test func accessTokensExpireAfterOneHour() async throws {
        let fixture = try await UsersFixture.make()
        let (access, refresh) = try await fixture.tokens()
        #expect(await fixture.me(access).status == 200)
        fixture.clock.advance(seconds: 3599)
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: access).status == 200)
        fixture.clock.advance(seconds: 2)
        let expired = await fixture.get("/api/v1/probe/invoices", bearer: access)
        #expect(expired.status == 401)
        #expect(expired.bodyText == accountingError("Could not validate credentials", status: 401))
        #expect(await fixture.me(access).status == 401)
        #expect(await fixture.refresh(refresh).status == 200)  // the refresh token still works
    }

    /// Refresh tokens expire after 30 days.
    @Test func refreshTokensExpireAfterThirtyDays() async throws {
        let fixture = try await UsersFixture.make()
        let (_, early) = try await fixture.tokens()
        let (_, late) = try await fixture.tokens()
        fixture.clock.advance(seconds: 30 * 86_400 - 10)
        #expect(await fixture.refresh(early).status == 200)
        fixture.clock.advance(seconds: 20)
        #expect(await fixture.refresh(late).status == 401)
    }

    /// B5/B6: /auth/me needs a bearer; it returns the current user.
    @Test func meReturnsTheCurrentUser() async throws {
        let fixture = try await UsersFixture.make()
        let none = await fixture.me(nil)
        #expect(none.status == 401)
        #expect(none.bodyText == accountingError("Not authenticated", status: 401))
        #expect(await fixture.get("/api/v1/probe/invoices", bearer: nil).bodyText == accountingError("Not authenticated", status: 401))
        let malformed = await fixture.me("at_nothex")
        #expect(malformed.bodyText == accountingError("Could not validate credentials", status: 401))
        #expect(await fixture.me("at_" + String(repeating: "a", count: 64)).status == 401)
        #expect(await fixture.me("eyJhbGciOiJSUzI1NiJ9.e30.sig").status == 401)

        let (access, _) = try await fixture.tokens()
        let me = await fixture.me(access)
        #expect(me.status == 200)
        let body = try #require(me.bodyJSON)
        #expect(body["id"] == .string(fixture.userId))
        #expect(body["email"] == .string(fixture.email))
        #expect(body["role"] == "accountant")
        #expect(body["full_name"] == "Alice Accountant")
        #expect(body["organization_id"] == .string(fixture.organizationId))
        #expect(body["merchant_id"] == .string(fixture.merchantId))
        #expect(body["tier"] == "standard")
        #expect(body["last_login_at"] != .null)
    }

    /// Logout revokes the access token and its refresh family: 204, then both are dead.
    @Test func logoutRevokesTheSession() async throws {
        let fixture = try await UsersFixture.make()
        let (access, refresh) = try await fixture.tokens()
        let (other, _) = try await fixture.tokens()
        #expect(await fixture.me(access).status == 200)
        let response = await fixture.logout(access)
        #expect(response.status == 204)
        #expect(response.body.isEmpty)
        #expect(await fixture.me(access).status == 401)
        #expect(await fixture.refresh(refresh).status == 401)
        #expect(await fixture.logout(access).status == 401)
        #expect(await fixture.me(other).status == 200)
    }

    /// Revocation on one instance reaches a second instance's cache through NOTIFY.
    @Test func revocationReachesASecondInstance() async throws {
        let first = try await UsersFixture.make()
        let second = try await UsersFixture.make(database: first.database, organizationId: first.organizationId)
        let background = Task { await second.auth.runBackgroundTasks() }
        defer { background.cancel() }
        second.clock.set(first.clock.now())
        let (access, refresh) = try await first.tokens()
        let (access2, refresh2) = try await first.tokens()
        #expect(await second.me(access).status == 200)  // cached on the second instance
        #expect(await second.me(access2).status == 200)
        try await Task.sleep(for: .milliseconds(300))  // the listener is subscribed
        #expect(await first.logout(access).status == 204)
        #expect(await poll { await second.me(access).status == 401 })
        // Reuse detection on the first instance also reaches the second.
        #expect(await first.refresh(refresh2).status == 200)
        #expect(await first.refresh(refresh2).status == 401)
        #expect(await poll { await second.me(access2).status == 401 })
        #expect(await second.refresh(refresh).status == 401)
    }

    private func poll(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<100 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Expired rows are purged a day after expiry.
    @Test func expiredTokensArePurged() async throws {
        let fixture = try await UsersFixture.make()
        _ = try await fixture.tokens()
        fixture.clock.advance(seconds: 3600 + 86_400 + 1)
        #expect(try await fixture.auth.users.tokens.purgeExpired() == 1)
        fixture.clock.advance(seconds: 31 * 86_400)
        #expect(try await fixture.auth.users.tokens.purgeExpired() == 1)
    }
}
