import AccessContract
import Foundation
import Kernel

/// Organizations (platforms, POS vendors), their merchants, and merchants' stores and terminals.
struct TenancyStore: TenantDirectory {
    let database: any Database
    let clock: any WallClock

    func createOrganization(name: String, kind: String) async throws -> String {
        let id = TypedID.generate(prefix: .organization, clock: clock).rawValue
        try await database.execute("INSERT INTO auth_organizations (id, name, kind) VALUES (\(id), \(name), \(kind))")
        return id
    }

    func createMerchant(organizationId: String, name: String, slug: String?) async throws -> String {
        let id = TypedID.generate(prefix: .merchant, clock: clock).rawValue
        let sql: SQL = """
            INSERT INTO auth_merchants (id, organization_id, name, slug) VALUES (\(id), \(organizationId), \(name), \(slug))
            """
        try await database.execute(sql)
        return id
    }

    func createTerminal(merchantId: String, mode: Mode, terminalId: String, storeId: String?, serialNumber: String?)
        async throws {
        let sql: SQL = """
            INSERT INTO auth_terminals (merchant_id, mode, id, store_id, serial_number)
            VALUES (\(merchantId), \(mode), \(terminalId), \(storeId), \(serialNumber))
            ON CONFLICT (merchant_id, mode, id) DO NOTHING
            """
        try await database.execute(sql)
    }

    func merchant(_ merchantId: String) async throws -> MerchantDirectoryEntry? {
        let sql: SQL = "SELECT organization_id, status FROM auth_merchants WHERE id = \(merchantId)"
        guard let row = try await database.queryFirst(sql) else { return nil }
        return MerchantDirectoryEntry(merchantId: merchantId, organizationId: try row.decode("organization_id"),
                                      active: try row.decode("status", as: String.self) == "active")
    }

    func merchantId(slug: String) async throws -> String? {
        try await database.queryFirst("SELECT id FROM auth_merchants WHERE slug = \(slug)")?.decode("id")
    }

    func merchantExists(_ merchantId: String) async throws -> Bool {
        try await database.queryFirst("SELECT 1 FROM auth_merchants WHERE id = \(merchantId)") != nil
    }

    func setMerchantStatus(_ merchantId: String, status: String) async throws {
        try await database.execute("UPDATE auth_merchants SET status = \(status) WHERE id = \(merchantId)")
    }
}
