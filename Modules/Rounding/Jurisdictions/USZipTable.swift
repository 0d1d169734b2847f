import RoundingZipData

/// A place a ZIP code belongs to.
public struct ZipLocation: Sendable, Hashable, Codable {
    public let zipCode: String
    /// Two-letter code; also AA/AE/AP (military) and territories such as PR or GU.
    public let state: String
    /// e.g. "Maricopa County"; empty for the few ZIPs (mostly military) without one.
    public let county: String
    public let city: String
}

/// The US 5-digit ZIP table (`usZipTableTSV` of the `RoundingZipData` target, from PyPI `zipcodes`).
///
/// Loading is one pass over the embedded bytes that records, per ZIP, where its line starts: no
/// strings are built until a lookup, so the first use costs a few milliseconds and ~400 KB.
/// Lookups index a flat array by the ZIP's numeric value: O(1).
public struct USZipTable: Sendable {
    /// Every ZIP is a 5-digit number, so 100,000 slots cover all of them.
    static let slotCount = 100_000

    /// The shared table, parsed on first use (Swift `static let` initialisation is lazy and thread-safe).
    public static let shared = USZipTable(tsv: usZipTableTSV)

    /// The embedded text; `StaticString` is immutable static data, so the table stays Sendable.
    private let source: StaticString
    private var bytes: UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: source.utf8Start, count: source.utf8CodeUnitCount)
    }
    /// Line start offset per ZIP, −1 when unknown.
    private let lineStartByZip: [Int32]
    public let count: Int

    /// Parses `zip<TAB>state<TAB>county<TAB>city` lines; the first line is a header.
    init(tsv: StaticString) {
        let buffer = UnsafeBufferPointer(start: tsv.utf8Start, count: tsv.utf8CodeUnitCount)
        source = tsv
        var starts = [Int32](repeating: -1, count: USZipTable.slotCount)
        var found = 0
        var offset = USZipTable.endOfLine(in: buffer, from: 0) + 1
        while offset < buffer.count {
            if let zip = USZipTable.zipValue(buffer, at: offset), starts[zip] < 0 {
                starts[zip] = Int32(offset)
                found += 1
            }
            offset = USZipTable.endOfLine(in: buffer, from: offset) + 1
        }
        lineStartByZip = starts
        count = found
    }

    /// The place for a 5-digit ZIP ("85001"; "85001-1234" is accepted); nil when unknown or malformed.
    public func location(zipCode: String) -> ZipLocation? {
        guard let zip = USZipTable.parseZip(zipCode) else { return nil }
        let start = Int(lineStartByZip[zip])
        guard start >= 0 else { return nil }
        let end = USZipTable.endOfLine(in: bytes, from: start)
        let fields = bytes[start..<end].split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false)
        guard fields.count == 4 else { return nil }
        func text(_ index: Int) -> String { String(decoding: fields[index], as: UTF8.self) }
        return ZipLocation(zipCode: text(0), state: text(1), county: text(2), city: text(3))
    }

    public func contains(zipCode: String) -> Bool {
        guard let zip = USZipTable.parseZip(zipCode) else { return false }
        return lineStartByZip[zip] >= 0
    }

    /// "12345" or "12345-6789" → 12345; anything else → nil.
    static func parseZip(_ text: String) -> Int? {
        var utf8 = text.utf8[...]
        if utf8.count == 10, utf8[utf8.index(utf8.startIndex, offsetBy: 5)] == UInt8(ascii: "-") {
            guard utf8.suffix(4).allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            utf8 = utf8.prefix(5)
        }
        guard utf8.count == 5 else { return nil }
        var value = 0
        for byte in utf8 {
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static func zipValue(_ buffer: UnsafeBufferPointer<UInt8>, at offset: Int) -> Int? {
        guard offset + 5 < buffer.count, buffer[offset + 5] == UInt8(ascii: "\t") else { return nil }
        var value = 0
        for index in offset..<(offset + 5) {
            let byte = buffer[index]
            guard byte >= 48 && byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }

    private static func endOfLine(in buffer: UnsafeBufferPointer<UInt8>, from offset: Int) -> Int {
        var index = offset
        while index < buffer.count && buffer[index] != UInt8(ascii: "\n") { index += 1 }
        return index
    }
}
