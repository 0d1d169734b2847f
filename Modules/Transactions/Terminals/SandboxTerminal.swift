import Foundation
import Kernel

/// The built-in sandbox terminal: answers a test-mode terminal's commands when no physical terminal of that id is
/// connected to this instance (docs/terminals.md, "The simulator rule"). Deterministic: a mains-powered, wired
/// terminal (battery null, ETHERNET, no signal) whose display and printer always succeed and whose cardholder answers
/// each prompt with a fixed value per input type. A prompt may script the cardholder instead:
/// `[sim:timeout]` never answers (so the prompt times out after `timeoutMs`), `[sim:cancel]` cancels, and
/// `[sim:value=TEXT]` answers TEXT.
struct SandboxTerminal: TerminalEndpoint {
    static let firmwareVersion = "sandbox-1.0.0"
    static let timeoutDirective = "[sim:timeout]"
    static let cancelDirective = "[sim:cancel]"
    static let valueDirective = "[sim:value="

    let terminalId: String
    /// When the sandbox "booted" (the module's start), for `uptime`.
    let bootedAt: Date
    let clock: any WallClock

    var report: DeviceReport {
        DeviceReport(serialNumber: "SN-SANDBOX-" + terminalId.prefix(40), firmwareVersion: Self.firmwareVersion,
                     batteryLevel: nil, connectivity: Connectivity(method: .ethernet, signalStrength: nil, networkName: nil),
                     uptimeSeconds: max(0, Int64(clock.now().timeIntervalSince(bootedAt))))
    }

    func run(_ command: TerminalCommand) async throws(AtlasError) -> CommandOutcome {
        switch command.kind {
        case .display, .print: return .answered(["success": true])
        case .health: return .answered(.object(report.json))
        case .input: return await input(command.payload)
        // Test mode reads the sandbox chip in process (`SimulatedCardReader`); no card_read reaches the sandbox.
        case .cardRead: return .failed(code: "UNSUPPORTED", message: "The sandbox terminal reads cards in process")
        }
    }

    private func input(_ payload: JSONValue) async -> CommandOutcome {
        let prompt = payload["prompt"]?.stringValue ?? ""
        if prompt.contains(Self.timeoutDirective) {
            let milliseconds = payload["timeoutMs"]?.intValue ?? TerminalLimits.inputTimeoutMillisecondsDefault
            try? await Task.sleep(for: .milliseconds(milliseconds))
            return .answered(InputAnswer.timedOut.json)
        }
        if prompt.contains(Self.cancelDirective) { return .answered(InputAnswer.cancelled.json) }
        if let scripted = Self.scriptedValue(prompt) { return .answered(InputAnswer(value: scripted).json) }
        return .answered(InputAnswer(value: Self.defaultValue(payload)).json)
    }

    /// TEXT of `[sim:value=TEXT]`, when the prompt carries one.
    static func scriptedValue(_ prompt: String) -> String? {
        guard let start = prompt.range(of: valueDirective),
              let end = prompt[start.upperBound...].firstIndex(of: "]") else { return nil }
        return String(prompt[start.upperBound..<end])
    }

    /// The cardholder's fixed answer for each input type, fitted to minLength/maxLength.
    static func defaultValue(_ payload: JSONValue) -> String {
        let type = payload["inputType"]?.stringValue.flatMap(InputType.init(rawValue:)) ?? .text
        let shape: (base: String, filler: Character)
        switch type {
        case .text: shape = ("sandbox", "x")
        case .numeric: shape = ("1234", "0")
        case .email: return "cardholder@example.com"
        case .phone: return "+15555550100"
        case .selection: return payload["options"]?[0]?.stringValue ?? ""
        case .yesNo: return "YES"
        case .rating: return "5"
        }
        let minimum = Int(payload["minLength"]?.intValue ?? 0)
        let maximum = Int(payload["maxLength"]?.intValue ?? TerminalLimits.inputLengthMax)
        var value = String(shape.base.prefix(maximum))
        if value.count < minimum { value += String(repeating: shape.filler, count: minimum - value.count) }
        return value
    }
}

extension JSONValue {
    /// The element at `index` of an array, nil otherwise.
    subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
