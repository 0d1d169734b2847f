import Kernel

/// `atlas admin` commands for the offline terminal backend (tenant slug, devices, operators, grant keys).
/// Devices and operators are live unless `--mode test` is given (API keys default to test).
enum DevicesAdminCommands {
    static let all: [AdminCommand] = [
        AdminCommand(name: "set-tenant-slug", usage: "admin set-tenant-slug --merchant ID --slug SLUG") { arguments, services in
            guard try await services.auth.setTenantSlug(merchantId: try arguments.required("merchant"),
                                                        slug: try arguments.required("slug")) else {
                throw CommandUsageError("unknown merchant")
            }
            print("tenant slug set")
        },
        AdminCommand(name: "create-device",
                     usage: "admin create-device --merchant ID --role terminal|gate|station|scout [--mode live|test] [--name N]") { arguments, services in
            guard let role = DeviceRole(rawValue: try arguments.required("role")) else {
                throw CommandUsageError("--role must be terminal, gate, station or scout")
            }
            let device = try await services.auth.createDevice(merchantId: try arguments.required("merchant"), role: role,
                                                              mode: try arguments.mode(default: .live),
                                                              name: arguments.value("name"))
            print("deviceId \(device.deviceId)\nterminal number \(device.terminalNumber)\n"
                  + "deviceSecret (one-time commissioning secret, shown once): \(device.deviceSecret)")
        },
        AdminCommand(name: "reset-device-secret",
                     usage: "admin reset-device-secret --device ID       new one-time commissioning secret") { arguments, services in
            guard let secret = try await services.auth.resetDeviceSecret(deviceId: try arguments.required("device")) else {
                throw CommandUsageError("unknown device")
            }
            print("deviceSecret (one-time commissioning secret, shown once): \(secret)")
        },
        AdminCommand(names: ["suspend-device", "activate-device"],
                     usage: "admin suspend-device --device ID | admin activate-device --device ID") { arguments, services in
            let suspended = arguments.command == "suspend-device"
            guard try await services.auth.setDeviceStatus(deviceId: try arguments.required("device"), suspended: suspended) else {
                throw CommandUsageError("unknown device")
            }
            print(suspended ? "device suspended" : "device active")
        },
        AdminCommand(name: "revoke-device-sessions", usage: "admin revoke-device-sessions --device ID") { arguments, services in
            try await services.auth.revokeDeviceSessions(deviceId: try arguments.required("device"))
            print("device sessions revoked")
        },
        AdminCommand(name: "create-operator",
                     usage: "admin create-operator --merchant ID --username U --password P [--roles a,b] [--name N] [--mode live|test] [--otp]") { arguments, services in
            let roles = arguments.value("roles").map { $0.split(separator: ",").map(String.init) } ?? ["operator"]
            let account = try await services.auth.createOperator(
                merchantId: try arguments.required("merchant"), mode: try arguments.mode(default: .live),
                username: try arguments.required("username"), password: try arguments.required("password"),
                displayName: arguments.value("name"), roles: roles, requireOTP: arguments.flags.contains("otp"))
            print("accountId \(account.accountId)")
            if let uri = account.otpURI { print("OTP provisioning URI (shown once): \(uri)") }
        },
        AdminCommand(names: ["suspend-operator", "activate-operator"],
                     usage: "admin suspend-operator --account ID | admin activate-operator --account ID") { arguments, services in
            let suspended = arguments.command == "suspend-operator"
            guard try await services.auth.setOperatorStatus(accountId: try arguments.required("account"), suspended: suspended) else {
                throw CommandUsageError("unknown account")
            }
            print(suspended ? "account suspended" : "account active")
        },
        AdminCommand(name: "rotate-grant-key", usage: "admin rotate-grant-key --merchant ID [--mode live|test]") { arguments, services in
            let key = try await services.auth.rotateGrantKey(merchantId: try arguments.required("merchant"),
                                                             mode: try arguments.mode(default: .live))
            print("keyVersion \(key.keyVersion)\nkey material (base64, shown once; provision to terminals): \(key.keyMaterialBase64)")
        },
    ]
}
