import Kernel

/// The byte-exact serialization that audit hashes cover (docs/rounding-audit-chain.md).
///
/// Identical to Python's `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
/// encoded as UTF-8, for the values records contain (objects with ASCII keys, arrays, strings, integers,
/// booleans, null — never floating point), so an auditor can recompute a hash with the standard library.
enum CanonicalJSON {
    static func bytes(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        append(value, to: &output)
        return output
    }

    static func string(_ value: JSONValue) -> String { String(decoding: bytes(value), as: UTF8.self) }

    private static func append(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .int(let number): output += Array(String(number).utf8)
        case .double(let number):
            // Records never hold floating point; should one appear, keep it deterministic.
            output += Array((number.isFinite ? String(number) : "null").utf8)
        case .string(let text): appendQuoted(text, to: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                append(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            // Code-point order, as Python sorts str keys.
            let keys = object.keys.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
            for (index, key) in keys.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                appendQuoted(key, to: &output)
                output.append(UInt8(ascii: ":"))
                append(object[key]!, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Python's escaping with ensure_ascii=False: `"` `\` and the short escapes \b \f \n \r \t,
    /// other control characters below 0x20 as \u00xx (lower-case hex), everything else raw UTF-8.
    static func appendQuoted(_ text: String, to output: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [92, 34]
            case UInt8(ascii: "\\"): output += [92, 92]
            case 0x08: output += [92, UInt8(ascii: "b")]
            case 0x0C: output += [92, UInt8(ascii: "f")]
            case 0x0A: output += [92, UInt8(ascii: "n")]
            case 0x0D: output += [92, UInt8(ascii: "r")]
            case 0x09: output += [92, UInt8(ascii: "t")]
            case 0..<0x20: output += [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
