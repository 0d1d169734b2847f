import Foundation
import Kernel

/// `GET /jurisdiction/zip/{zip_code}` (the rule in force for a ZIP today) and `GET /jurisdictions` (every
/// enacted rule, with its lookup key).
enum JurisdictionHandlers {
    static func zip(_ request: Request, resolver: JurisdictionResolver, now: Date) throws -> Response {
        let zip = request.pathParameter("zip_code") ?? ""
        guard zip.utf8.count == 5, zip.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw AtlasError.invalidField("zip_code", "zip_code must be a 5-digit ZIP code", constraint: "format")
        }
        guard let resolution = resolver.resolve(zipCode: zip, on: CivilDate(now)) else {
            throw AtlasError.notFound("ZIP code not found")
        }
        return .json(resolution.rule.jsonObject())
    }

    static func list() -> Response {
        .json(.array(JurisdictionRuleTable.enacted.rules.map { $0.jsonObject(includeLookupKey: true) }))
    }
}
