import Foundation
import Kernel

/// The four device roles of the offline terminal backend and what each may do.
public enum DeviceRole: String, Sendable, CaseIterable {
    case terminal
    case gate
    case station
    case scout

    /// The `allowedOps` of a session grant, and the scopes of the device's `Principal`.
    /// `topup`, `reissue` and `block` belong to stations only (contract A.1 notes); a scout only reads.
    public var allowedOps: [String] {
        switch self {
        case .terminal: return ["read", "debit", "checkin", "checkout"]
        case .gate: return ["read", "checkin", "checkout"]
        case .station: return ["read", "debit", "checkin", "checkout", "topup", "reissue", "block"]
        case .scout: return ["read"]
        }
    }

    /// Roles that may request a session grant and the policy (rule 6): everyone but scouts.
    public static let grantRoles: Set<String> = ["terminal", "gate", "station"]
    public static let all: Set<String> = Set(allCases.map(\.rawValue))
}

/// The vocabulary of `allowedOps` (contract A.1 notes).
enum DeviceOps {
    static let vocabulary: [String] = ["read", "debit", "checkin", "checkout", "topup", "reissue", "block"]
}

/// Id prefixes of this part.
extension IDPrefix {
    static let terminalDevice = IDPrefix(rawValue: "dev")
    static let terminalOperator = IDPrefix(rawValue: "opr")
    static let terminalSession = IDPrefix(rawValue: "dss")
}

/// Lifetimes and limits of device credentials (rule 1: access ~15 min, refresh ~30 days).
enum DeviceTokenLimits {
    static let accessLifetimeSeconds: TimeInterval = 15 * 60
    static let refreshLifetimeSeconds: TimeInterval = 30 * 86_400
    static let tokenRandomBytes = 32
    static let commissioningSecretRandomBytes = 32
    /// Access tokens start with this, refresh tokens with `refreshPrefix`; neither collides with API keys.
    static let accessPrefix = "dvt_"
    static let refreshPrefix = "dvr_"
    /// Longest token text accepted before hashing.
    static let tokenLengthMax = 128
    /// Longest identifier / password text accepted in a login body, so garbage costs nothing to reject.
    static let fieldLengthMax = 200
    static let passwordLengthMax = 1_024
    /// Concurrent enrollments may pick the same next terminal number; retry this many times.
    static let enrollmentAttemptsMax = 5
}

/// The documented `/api` error codes of this part, as `AtlasError`s the TerminalErrorRenderer prints verbatim.
enum DeviceErrors {
    static func custom(_ status: Int, _ code: String, _ message: String) -> AtlasError {
        AtlasError(kind: .custom, status: status, code: code, message: message)
    }

    static let invalidCredentials = custom(401, "invalid_credentials", "Username or password is incorrect")
    static let invalidDeviceCredentials = custom(401, "invalid_device_credentials", "Device id or device secret is not valid")
    static let mfaRequired = custom(401, "mfa_required", "This account requires a one-time code (otpCode)")
    static let tenantSuspended = custom(403, "tenant_suspended", "This tenant is suspended")
    static let deviceSuspended = custom(403, "device_suspended", "This device is suspended")
    static let terminalSuspended = custom(403, "terminal_suspended", "This terminal is suspended")
    static let accountSuspended = custom(403, "account_suspended", "This account is suspended")
    static let invalidRole = custom(422, "invalid_role", "role must be one of terminal, gate, station, scout and match the device")
    static let invalidTenant = custom(422, "invalid_tenant", "Unknown tenant")
    static let invalidKeyVersion = custom(422, "invalid_key_version", "keyVersion is not an active or retired key version")
    static let invalidToken = AtlasError.unauthorized("Missing, invalid or expired bearer token")
    static let invalidRefreshToken = AtlasError.unauthorized("Refresh token is invalid, expired or revoked")
}

/// The operational limits a terminal enforces offline (contract A.1 `GET /api/policy`, rule 13),
/// plus the session-grant lifetime. Defaults are the documented values; a tenant may override any.
public struct TerminalPolicy: Sendable, Hashable {
    public var maxBalance: Int64 = 5_000_000
    public var singleTxLimit: Int64 = 1_000_000
    public var dailyLimit: Int64 = 2_000_000
    public var weeklyLimit: Int64 = 5_000_000
    public var blockedStatuses: [Int] = [1, 2, 3, 4]
    public var clockDriftAllowanceSec: Int = 3_600
    /// Seconds a session grant lives: 1–24 h by policy (rule 8), default 8 h.
    public var grantLifetimeSec: Int = 8 * 3_600

    public static let grantLifetimeRangeSec = 3_600...86_400
    /// The uint32 hard ceiling of a card balance (rule 13).
    public static let balanceCeiling: Int64 = 16_000_000

    public init() {}

    var json: JSONValue {
        ["maxBalance": .int(maxBalance), "singleTxLimit": .int(singleTxLimit), "dailyLimit": .int(dailyLimit),
         "weeklyLimit": .int(weeklyLimit), "blockedStatuses": .array(blockedStatuses.map { .int(Int64($0)) }),
         "clockDriftAllowanceSec": .int(Int64(clockDriftAllowanceSec))]
    }
}

/// An enrolled device as stored (never with its secret).
struct DeviceRecord: Sendable {
    let id: String
    let merchantId: String
    let mode: Mode
    let role: DeviceRole
    let terminalNumber: Int
    let status: String
    let secretHash: String?

    init(row: Row) throws {
        id = try row.decode("id")
        merchantId = try row.decode("merchant_id")
        mode = Mode(rawValue: try row.decode("mode")) ?? .live
        role = DeviceRole(rawValue: try row.decode("role")) ?? .scout
        terminalNumber = try row.decode("terminal_number")
        status = try row.decode("status")
        secretHash = try row.decode("secret_hash", as: String?.self)
    }
}

/// An operator account of a tenant (never with its password hash or OTP seed outside the store).
struct DeviceOperatorRecord: Sendable {
    let id: String
    let merchantId: String
    let mode: Mode
    let username: String
    let passwordHash: String
    let displayName: String
    let roles: [String]
    let status: String
    let otpSecret: [UInt8]?
    let otpLastStep: Int64

    init(row: Row) throws {
        id = try row.decode("id")
        merchantId = try row.decode("merchant_id")
        mode = Mode(rawValue: try row.decode("mode")) ?? .live
        username = try row.decode("username")
        passwordHash = try row.decode("password_hash")
        displayName = try row.decode("display_name")
        roles = (try row.decode("roles", as: String.self)).split(separator: ",").map(String.init)
        status = try row.decode("status")
        otpSecret = try row.decode("otp_secret", as: [UInt8]?.self)
        otpLastStep = try row.decode("otp_last_step")
    }

    var accountJSON: JSONValue {
        ["accountId": .string(id), "displayName": .string(displayName), "roles": .array(roles.map { .string($0) })]
    }
}
