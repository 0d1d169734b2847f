/// PostgreSQL array literals for binding a whole column of values as ONE parameter (`$1::text[]`, read with
/// `unnest`). WHY: a statement whose text does not grow with its row count is parsed and planned once per
/// connection (the prepared-statement cache), and is not bounded by the protocol's 65,535 parameters.
public enum SQLArrayLiteral {
    /// `{"a","b\"c",NULL}`: every element quoted, `"` and `\` escaped, so any text round-trips; nil is SQL NULL.
    public static func text(_ elements: [String?]) -> String {
        var literal = "{"
        literal.reserveCapacity(elements.count * 16 + 2)
        for (index, element) in elements.enumerated() {
            if index > 0 { literal += "," }
            guard let element else {
                literal += "NULL"
                continue
            }
            literal += "\""
            if element.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                for scalar in element.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { literal += "\\" }
                    literal.unicodeScalars.append(scalar)
                }
            } else {
                literal += element
            }
            literal += "\""
        }
        return literal + "}"
    }

    /// `{1,-2,NULL}` for a `bigint[]` or `integer[]` parameter.
    public static func integers(_ elements: [Int64?]) -> String {
        "{" + elements.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
