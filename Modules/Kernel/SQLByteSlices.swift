/// Many byte strings bound as ONE binary parameter, with their bounds as integer arrays: a statement of constant text
/// reads element i as `substring($blob FROM start FOR length)` (bytea), or `convert_from(…, 'UTF8')::json` for JSON.
///
/// WHY: in a text array literal every element is quoted and every `"` and `\` escaped (JSON is full of them), and bytea
/// goes as hex, twice its size; both sides then scan every byte again. The blob travels in binary format, copied once.
public struct SQLByteSlices: Sendable {
    /// The elements back to back: bind it as `.bytes` (`$n::bytea`).
    public let blob: [UInt8]
    /// 1-based start of each element in `blob` (`integer[]` literal); NULL for a nil element.
    public let starts: String
    /// Byte length of each element (`integer[]` literal); NULL for a nil element.
    public let lengths: String

    public init(_ elements: [[UInt8]?]) {
        var blob: [UInt8] = []
        blob.reserveCapacity(elements.reduce(0) { $0 + ($1?.count ?? 0) })
        var starts: [Int64?] = []
        var lengths: [Int64?] = []
        for element in elements {
            guard let element else {
                starts.append(nil)
                lengths.append(nil)
                continue
            }
            starts.append(Int64(blob.count + 1))
            lengths.append(Int64(element.count))
            blob.append(contentsOf: element)
        }
        self.blob = blob
        self.starts = SQLArrayLiteral.integers(starts)
        self.lengths = SQLArrayLiteral.integers(lengths)
    }
}
