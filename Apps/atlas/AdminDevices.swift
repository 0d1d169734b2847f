import Auth
import Kernel

/// Admin subcommands for the offline terminal backend (devices, operators, tenant slug, grant keys).
/// Devices and operators are live unless `--mode test` is given. Returns false when the subcommand
/// is not one of its own.
enum AdminDevices {
    static let usage = """
          admin set-tenant-slug --merchant ID --slug SLUG
          admin create-device --merchant ID --role terminal|gate|station|scout [--mode live|test] [--name N]
          admin reset-device-secret --device ID       new one-time commissioning secret
          admin suspend-device --device ID | admin activate-device --device ID
          admin revoke-device-sessions --device ID
          admin create-operator --merchant ID --username U --password P [--roles a,b] [--name N] [--mode live|test] [--otp]
          admin suspend-operator --account ID | admin activate-operator --account ID
          admin rotate-grant-key --merchant ID [--mode live|test]

        """

    static func run(_ subcommand: String, _ options: Options, _ application: Application) async throws -> Bool {
        let auth = application.auth
        switch subcommand {
        case "set-tenant-slug":
            guard try await auth.setTenantSlug(merchantId: try options.required("merchant"), slug: try options.required("slug"))
            else { throw UsageError("unknown merchant") }
            print("tenant slug set")
        case "create-device":
            let roleText = try options.required("role")
            guard let role = DeviceRole(rawValue: roleText) else { throw UsageError("--role must be terminal, gate, station or scout") }
            let device = try await auth.createDevice(merchantId: try options.required("merchant"), role: role,
                                                     mode: try mode(options), name: options.value("name"))
            print("deviceId \(device.deviceId)\nterminal number \(device.terminalNumber)\n"
                  + "deviceSecret (one-time commissioning secret, shown once): \(device.deviceSecret)")
        case "reset-device-secret":
            guard let secret = try await auth.resetDeviceSecret(deviceId: try options.required("device")) else {
                throw UsageError("unknown device")
            }
            print("deviceSecret (one-time commissioning secret, shown once): \(secret)")
        case "suspend-device", "activate-device":
            guard try await auth.setDeviceStatus(deviceId: try options.required("device"),
                                                 suspended: subcommand == "suspend-device") else { throw UsageError("unknown device") }
            print(subcommand == "suspend-device" ? "device suspended" : "device active")
        case "revoke-device-sessions":
            try await auth.revokeDeviceSessions(deviceId: try options.required("device"))
            print("device sessions revoked")
        case "create-operator":
            let roles = options.value("roles").map { $0.split(separator: ",").map(String.init) } ?? ["operator"]
            let account = try await auth.createOperator(
                merchantId: try options.required("merchant"), mode: try mode(options), username: try options.required("username"),
                password: try options.required("password"), displayName: options.value("name"), roles: roles,
                requireOTP: options.flags.contains("otp"))
            print("accountId \(account.accountId)")
            if let uri = account.otpURI { print("OTP provisioning URI (shown once): \(uri)") }
        case "suspend-operator", "activate-operator":
            guard try await auth.setOperatorStatus(accountId: try options.required("account"),
                                                   suspended: subcommand == "suspend-operator") else { throw UsageError("unknown account") }
            print(subcommand == "suspend-operator" ? "account suspended" : "account active")
        case "rotate-grant-key":
            let key = try await auth.rotateGrantKey(merchantId: try options.required("merchant"), mode: try mode(options))
            print("keyVersion \(key.keyVersion)\nkey material (base64, shown once; provision to terminals): \(key.keyMaterialBase64)")
        default:
            return false
        }
        return true
    }

    /// Devices default to live (the shared `Options.mode()` defaults to test for API keys).
    static func mode(_ options: Options) throws -> Mode {
        guard let text = options.value("mode") else { return .live }
        guard let mode = Mode(rawValue: text) else { throw UsageError("--mode must be test or live") }
        return mode
    }
}
