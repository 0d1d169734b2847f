import Kernel

/// `inputType` of `POST /v1/device/input` (spec §3.3).
enum InputType: String, Sendable, CaseIterable {
    case text = "TEXT"
    case numeric = "NUMERIC"
    case email = "EMAIL"
    case phone = "PHONE"
    case selection = "SELECTION"
    case yesNo = "YES_NO"
    case rating = "RATING"

    /// The types `minLength`/`maxLength` apply to.
    var takesLength: Bool { self == .text || self == .numeric || self == .email || self == .phone }
}

enum LineAlignment: String, CaseIterable { case left = "LEFT", center = "CENTER", right = "RIGHT" }
enum LineFontSize: String, CaseIterable { case small = "SMALL", medium = "MEDIUM", large = "LARGE" }

/// One line of a display or a receipt.
struct DeviceLine: Decodable, Sendable {
    let text: String?
    let alignment: String?
    let fontSize: String?
    let bold: Bool?
}

struct DisplayBody: Decodable, Sendable {
    let lines: [DeviceLine]?
    let duration: Int64?
    let clearPrevious: Bool?
    let terminalId: String?
}

struct PrintBody: Decodable, Sendable {
    let lines: [DeviceLine]?
    let cutPaper: Bool?
    let terminalId: String?
}

struct InputBody: Decodable, Sendable {
    let prompt: String?
    let inputType: String?
    let options: [String]?
    let minLength: Int64?
    let maxLength: Int64?
    let timeoutMs: Int64?
    let terminalId: String?
}

/// An input's answer (spec §3.3): `value` is null when cancelled or timed out.
struct InputAnswer: Sendable, Hashable {
    var value: String?
    var cancelled = false
    var timedOut = false

    static let timedOut = InputAnswer(value: nil, timedOut: true)
    static let cancelled = InputAnswer(value: nil, cancelled: true)

    var json: JSONValue {
        ["value": value.map { .string($0) } ?? .null, "cancelled": .bool(cancelled), "timedOut": .bool(timedOut)]
    }

    /// A terminal's `result` for an input; nil when it is not of that shape.
    static func parse(_ result: JSONValue) -> InputAnswer? {
        guard let cancelled = result["cancelled"]?.boolValue, let timedOut = result["timedOut"]?.boolValue else { return nil }
        switch result["value"] {
        case nil, .null?: return InputAnswer(value: nil, cancelled: cancelled, timedOut: timedOut)
        case .string(let value)? where value.count <= TerminalLimits.answerValueLengthMax && !cancelled && !timedOut:
            return InputAnswer(value: value, cancelled: false, timedOut: false)
        default: return nil
        }
    }
}

/// The checks of the three device-interaction bodies (spec §3.3; A35–A37), each broken rule a 400 naming its field,
/// and the command each valid body becomes. Limits: `TerminalLimits`.
enum TerminalCommands {
    static func display(_ body: DisplayBody, limits: TerminalLimits) throws(AtlasError) -> TerminalCommand {
        let lines = try checkLines(body.lines, max: TerminalLimits.displayLinesMax)
        let duration = body.duration ?? 0
        guard duration >= 0, duration <= TerminalLimits.displayDurationMillisecondsMax else {
            throw .invalidField("duration", "duration must be from 0 to \(TerminalLimits.displayDurationMillisecondsMax) ms",
                                constraint: duration < 0 ? "minimum" : "maximum", value: .int(duration))
        }
        let payload: JSONValue = ["lines": .array(lines), "duration": .int(duration),
                                  "clearPrevious": .bool(body.clearPrevious ?? false)]
        return TerminalCommand(kind: .display, payload: payload, waitMilliseconds: limits.commandTimeoutMilliseconds)
    }

    static func print(_ body: PrintBody, limits: TerminalLimits) throws(AtlasError) -> TerminalCommand {
        let lines = try checkLines(body.lines, max: TerminalLimits.printLinesMax)
        let payload: JSONValue = ["lines": .array(lines), "cutPaper": .bool(body.cutPaper ?? false)]
        return TerminalCommand(kind: .print, payload: payload, waitMilliseconds: limits.commandTimeoutMilliseconds)
    }

    static func input(_ body: InputBody, limits: TerminalLimits) throws(AtlasError) -> TerminalCommand {
        guard let prompt = body.prompt else { throw AtlasError.missingField("prompt") }
        guard !prompt.isEmpty, prompt.count <= TerminalLimits.promptLengthMax else {
            throw .invalidField("prompt", "prompt must be 1 to \(TerminalLimits.promptLengthMax) characters",
                                constraint: prompt.isEmpty ? "minLength" : "maxLength", value: .int(Int64(prompt.count)))
        }
        guard let typeText = body.inputType else { throw AtlasError.missingField("inputType") }
        guard let type = InputType(rawValue: typeText) else {
            throw .invalidField("inputType", "inputType must be one of \(InputType.allCases.map(\.rawValue).joined(separator: ", "))",
                                constraint: "enum", value: .string(String(typeText.prefix(32))))
        }
        let timeout = body.timeoutMs ?? TerminalLimits.inputTimeoutMillisecondsDefault
        let range = TerminalLimits.inputTimeoutMilliseconds
        guard range.contains(timeout) else {
            throw .invalidField("timeoutMs", "timeoutMs must be from \(range.lowerBound) to \(range.upperBound)",
                                constraint: timeout < range.lowerBound ? "minimum" : "maximum", value: .int(timeout))
        }
        var payload: [String: JSONValue] = ["prompt": .string(prompt), "inputType": .string(type.rawValue),
                                            "timeoutMs": .int(timeout)]
        try checkLengths(body, type: type, into: &payload)
        if type == .selection { payload["options"] = .array(try checkOptions(body.options).map { .string($0) }) }
        return TerminalCommand(kind: .input, payload: .object(payload),
                               waitMilliseconds: Int(timeout) + limits.inputGraceMilliseconds)
    }

    /// minLength/maxLength: 0…`inputLengthMax`, min ≤ max; sent to the terminal for the types they apply to.
    private static func checkLengths(_ body: InputBody, type: InputType, into payload: inout [String: JSONValue]) throws(AtlasError) {
        for (field, value) in [("minLength", body.minLength), ("maxLength", body.maxLength)] {
            guard let value else { continue }
            guard value >= 0, value <= TerminalLimits.inputLengthMax else {
                throw .invalidField(field, "\(field) must be from 0 to \(TerminalLimits.inputLengthMax)",
                                    constraint: value < 0 ? "minimum" : "maximum", value: .int(value))
            }
            if type.takesLength { payload[field] = .int(value) }
        }
        if let minimum = body.minLength, let maximum = body.maxLength, minimum > maximum {
            throw .invalidField("minLength", "minLength must not exceed maxLength", constraint: "maximum", value: .int(minimum))
        }
    }

    /// SELECTION needs 1…`selectionOptionsMax` options of 1…`selectionOptionLengthMax` characters.
    private static func checkOptions(_ options: [String]?) throws(AtlasError) -> [String] {
        guard let options else { throw AtlasError.missingField("options") }
        guard !options.isEmpty, options.count <= TerminalLimits.selectionOptionsMax else {
            throw .invalidField("options", "options must list 1 to \(TerminalLimits.selectionOptionsMax) choices",
                                constraint: options.isEmpty ? "minItems" : "maxItems", value: .int(Int64(options.count)))
        }
        for (index, option) in options.enumerated() where option.isEmpty || option.count > TerminalLimits.selectionOptionLengthMax {
            throw .invalidField("options[\(index)]", "each option must be 1 to \(TerminalLimits.selectionOptionLengthMax) characters",
                                constraint: option.isEmpty ? "minLength" : "maxLength")
        }
        return options
    }

    /// `lines`: required, 1…`max` items, each with a text of at most `lineTextLengthMax` characters.
    private static func checkLines(_ lines: [DeviceLine]?, max: Int) throws(AtlasError) -> [JSONValue] {
        guard let lines else { throw AtlasError.missingField("lines") }
        guard !lines.isEmpty, lines.count <= max else {
            throw .invalidField("lines", "lines must hold 1 to \(max) lines", constraint: lines.isEmpty ? "minItems" : "maxItems",
                                value: .int(Int64(lines.count)))
        }
        var checked: [JSONValue] = []
        checked.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() { checked.append(try checkLine(line, field: "lines[\(index)]")) }
        return checked
    }

    private static func checkLine(_ line: DeviceLine, field: String) throws(AtlasError) -> JSONValue {
        guard let text = line.text else { throw AtlasError.missingField(field + ".text") }
        guard text.count <= TerminalLimits.lineTextLengthMax else {
            throw .invalidField(field + ".text", "\(field).text must be at most \(TerminalLimits.lineTextLengthMax) characters",
                                constraint: "maxLength", value: .int(Int64(text.count)))
        }
        let alignment = try enumerated(line.alignment, LineAlignment.self, field: field + ".alignment") ?? .left
        let fontSize = try enumerated(line.fontSize, LineFontSize.self, field: field + ".fontSize") ?? .medium
        return ["text": .string(text), "alignment": .string(alignment.rawValue), "fontSize": .string(fontSize.rawValue),
                "bold": .bool(line.bold ?? false)]
    }

    private static func enumerated<Value: RawRepresentable & CaseIterable>(_ text: String?, _ type: Value.Type,
                                                                           field: String) throws(AtlasError) -> Value?
        where Value.RawValue == String {
        guard let text else { return nil }
        guard let value = Value(rawValue: text) else {
            throw .invalidField(field, "\(field) must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))",
                                constraint: "enum", value: .string(String(text.prefix(32))))
        }
        return value
    }
}
