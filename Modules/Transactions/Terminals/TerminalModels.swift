import Foundation
import Kernel

/// One terminal of one merchant in one mode: the key of the registry row and of a connected channel.
struct TerminalAddress: Sendable, Hashable {
    let tenant: TenantContext
    let terminalId: String
}

/// `connectivity.method` (spec §3.3).
enum ConnectivityMethod: String, Sendable, CaseIterable {
    case wifi = "WIFI"
    case cellular = "CELLULAR"
    case ethernet = "ETHERNET"
    case usb = "USB"
}

/// How the terminal reaches the network. `signalStrength` (dBm) and `networkName` are null for wired links.
struct Connectivity: Sendable, Hashable {
    var method: ConnectivityMethod
    var signalStrength: Int64?
    var networkName: String?

    var json: JSONValue {
        ["method": .string(method.rawValue), "signalStrength": signalStrength.map { .int($0) } ?? .null,
         "networkName": networkName.map { .string($0) } ?? .null]
    }
}

/// What a terminal says about itself: in its hello, its status reports and its answer to `health`.
struct DeviceReport: Sendable, Hashable {
    static let serialNumberLengthMax = 64
    static let firmwareVersionLengthMax = 32
    static let networkNameLengthMax = 64

    var serialNumber: String
    var firmwareVersion: String
    /// 0–100; null for mains-powered terminals.
    var batteryLevel: Int64?
    var connectivity: Connectivity
    /// Seconds since the terminal last booted.
    var uptimeSeconds: Int64

    /// The report's members of the health answer (`connected`, `terminalId` and `lastTransactionTime` are added).
    var json: [String: JSONValue] {
        ["serialNumber": .string(serialNumber), "firmwareVersion": .string(firmwareVersion),
         "batteryLevel": batteryLevel.map { .int($0) } ?? .null, "connectivity": connectivity.json,
         "uptime": .int(uptimeSeconds)]
    }

    /// Reads and checks a report; every rule broken names its field (INVALID_REQUEST or MISSING_FIELD).
    static func parse(_ value: JSONValue) throws(AtlasError) -> DeviceReport {
        let fields = ReportFields(value: value)
        let serial = try fields.text("serialNumber", lengthMax: serialNumberLengthMax)
        let firmware = try fields.text("firmwareVersion", lengthMax: firmwareVersionLengthMax)
        let battery = try fields.optionalInteger("batteryLevel", range: 0...100)
        guard let link = value["connectivity"], case .object = link else { throw AtlasError.missingField("connectivity") }
        let linkFields = ReportFields(value: link, prefix: "connectivity.")
        let methodText = try linkFields.text("method", lengthMax: 16)
        guard let method = ConnectivityMethod(rawValue: methodText) else {
            throw .invalidField("connectivity.method", "connectivity.method must be one of "
                                + ConnectivityMethod.allCases.map(\.rawValue).joined(separator: ", "), constraint: "enum")
        }
        let signal = try linkFields.optionalInteger("signalStrength", range: -200...0)
        let network = try linkFields.optionalText("networkName", lengthMax: networkNameLengthMax)
        guard let uptime = try fields.optionalInteger("uptime", range: 0...Int64(Int32.max) * 100) else {
            throw AtlasError.missingField("uptime")
        }
        return DeviceReport(serialNumber: serial, firmwareVersion: firmware, batteryLevel: battery,
                            connectivity: Connectivity(method: method, signalStrength: signal, networkName: network),
                            uptimeSeconds: uptime)
    }
}

/// Typed reads of a JSON object's members with the Commerce error for each broken rule.
private struct ReportFields {
    let value: JSONValue
    var prefix = ""

    func text(_ name: String, lengthMax: Int) throws(AtlasError) -> String {
        guard let text = try optionalText(name, lengthMax: lengthMax) else { throw AtlasError.missingField(prefix + name) }
        return text
    }

    func optionalText(_ name: String, lengthMax: Int) throws(AtlasError) -> String? {
        switch value[name] {
        case nil, .null?: return nil
        case .string(let text)?:
            guard !text.isEmpty, text.count <= lengthMax else {
                throw .invalidField(prefix + name, "\(prefix + name) must be 1 to \(lengthMax) characters", constraint: "maxLength")
            }
            return text
        default: throw .invalidField(prefix + name, "\(prefix + name) must be a string", constraint: "type")
        }
    }

    func optionalInteger(_ name: String, range: ClosedRange<Int64>) throws(AtlasError) -> Int64? {
        switch value[name] {
        case nil, .null?: return nil
        case .int(let number)?:
            guard range.contains(number) else {
                throw .invalidField(prefix + name, "\(prefix + name) must be from \(range.lowerBound) to \(range.upperBound)",
                                    constraint: number < range.lowerBound ? "minimum" : "maximum", value: .int(number))
            }
            return number
        default: throw .invalidField(prefix + name, "\(prefix + name) must be an integer", constraint: "type")
        }
    }
}

/// The commands the device channel carries (docs/terminals.md).
enum TerminalCommandKind: String, Sendable, CaseIterable {
    case display
    case input
    case print
    case health
    /// Live granular mode: read the card and answer the chip's EMV data (`TerminalCardReader`).
    case cardRead = "card_read"
}

/// One command as sent to the terminal, with how long the server waits for its answer.
struct TerminalCommand: Sendable, Hashable {
    let kind: TerminalCommandKind
    let payload: JSONValue
    let waitMilliseconds: Int
}

/// How a command ended. A value, so the channel and the sandbox answer alike and the routes map each to one response.
enum CommandOutcome: Sendable, Hashable {
    /// The terminal's `result` object.
    case answered(JSONValue)
    /// The terminal reported that it could not run the command.
    case failed(code: String, message: String)
    /// No answer within the command's wait.
    case timedOut
    /// The channel closed (or was replaced) before the answer.
    case offline
    /// Relayed commands only: the holding instance refused it (its channel's or its relay's bound): TERMINAL_BUSY.
    case busy
}

/// Whatever runs a command: a connected terminal's channel, or the sandbox terminal.
protocol TerminalEndpoint: Sendable {
    func run(_ command: TerminalCommand) async throws(AtlasError) -> CommandOutcome
}

/// The device routes' documented errors (docs/terminals.md). All render in the Commerce body.
enum TerminalErrors {
    static let offline = AtlasError(kind: .unavailable, status: 503, code: "TERMINAL_OFFLINE",
                                    message: "The terminal is not connected")
    static let busy = AtlasError(kind: .conflict, status: 409, code: "TERMINAL_BUSY",
                                 message: "The terminal has too many commands waiting for an answer")
    static let timeout = AtlasError(kind: .unavailable, status: 504, code: "TERMINAL_TIMEOUT",
                                    message: "The terminal did not answer in time")
    static let notBound = AtlasError.forbidden("The device channel needs a credential bound to a terminal")

    /// The terminal answered, but with an error or a malformed result. Its code is kept (cut short); its message is not
    /// echoed, since a terminal's text is not ours to vouch for.
    static func failed(_ code: String) -> AtlasError {
        let safe = String(code.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }.prefix(64))
        return AtlasError(kind: .unavailable, status: 502, code: "TERMINAL_ERROR",
                          message: "The terminal could not run the command (\(safe.isEmpty ? "UNKNOWN" : safe))")
    }
}

extension IDPrefix {
    /// A command's correlation id on the device channel.
    static let terminalCommand = IDPrefix(rawValue: "cmd")
    /// One connection of the device channel (the registry row names the channel that holds it online).
    static let terminalChannel = IDPrefix(rawValue: "tch")
}
