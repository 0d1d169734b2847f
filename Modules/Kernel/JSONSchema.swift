/// A JSON Schema (the 2020-12 subset OpenAPI 3.1 uses) as a value, so routes declare their bodies in Swift
/// and the OpenAPI documents are generated from the declarations. WHY a struct over a kind: description,
/// nullability and example apply to every kind, so they are modifiers, not repeated enum payloads.
public struct JSONSchema: Sendable, Hashable {
    public indirect enum Kind: Sendable, Hashable {
        /// Any JSON value (an opaque, caller-defined object such as a stored record's details).
        case any
        case string(StringRules)
        case integer(minimum: Int64?, maximum: Int64?)
        case number(minimum: Double?, maximum: Double?)
        case boolean
        case array(items: JSONSchema, itemsMax: Int?)
        /// `additional`: nil forbids other members; a schema allows them (`.any` for any value).
        case object(properties: [Property], additional: JSONSchema?)
        case oneOf([JSONSchema])
        /// A named component schema of the same document (`#/components/schemas/<name>`).
        case reference(String)
    }

    public struct StringRules: Sendable, Hashable {
        public var format: String?
        public var pattern: String?
        public var lengthMin: Int?
        public var lengthMax: Int?
        /// The only accepted values (`enum`), in documented order.
        public var values: [String]?

        public init(format: String? = nil, pattern: String? = nil, lengthMin: Int? = nil, lengthMax: Int? = nil,
                    values: [String]? = nil) {
            self.format = format
            self.pattern = pattern
            self.lengthMin = lengthMin
            self.lengthMax = lengthMax
            self.values = values
        }
    }

    /// One member of an object, in declaration order (the order the document lists `required` in).
    public struct Property: Sendable, Hashable {
        public let name: String
        public let schema: JSONSchema
        public let isRequired: Bool

        public static func required(_ name: String, _ schema: JSONSchema) -> Property {
            Property(name: name, schema: schema, isRequired: true)
        }

        public static func optional(_ name: String, _ schema: JSONSchema) -> Property {
            Property(name: name, schema: schema, isRequired: false)
        }
    }

    public var kind: Kind
    public var description: String?
    /// Also accepts `null` (OpenAPI 3.1: `"type": [T, "null"]`).
    public var isNullable = false
    public var example: JSONValue?

    public init(_ kind: Kind, description: String? = nil) {
        self.kind = kind
        self.description = description
    }

    // MARK: Kinds

    public static let any = JSONSchema(.any)
    public static let boolean = JSONSchema(.boolean)

    public static func string(format: String? = nil, pattern: String? = nil, lengthMin: Int? = nil,
                              lengthMax: Int? = nil) -> JSONSchema {
        JSONSchema(.string(StringRules(format: format, pattern: pattern, lengthMin: lengthMin, lengthMax: lengthMax)))
    }

    /// A string that is one of `values`.
    public static func enumeration(_ values: [String]) -> JSONSchema {
        JSONSchema(.string(StringRules(values: values)))
    }

    public static func integer(minimum: Int64? = nil, maximum: Int64? = nil) -> JSONSchema {
        JSONSchema(.integer(minimum: minimum, maximum: maximum))
    }

    public static func number(minimum: Double? = nil, maximum: Double? = nil) -> JSONSchema {
        JSONSchema(.number(minimum: minimum, maximum: maximum))
    }

    public static func array(of items: JSONSchema, itemsMax: Int? = nil) -> JSONSchema {
        JSONSchema(.array(items: items, itemsMax: itemsMax))
    }

    /// A closed object: members not listed are refused.
    public static func object(_ properties: [Property]) -> JSONSchema {
        JSONSchema(.object(properties: properties, additional: nil))
    }

    /// An open object: the listed members plus any others (`additional`), as responses that may grow.
    public static func openObject(_ properties: [Property], additional: JSONSchema = .any) -> JSONSchema {
        JSONSchema(.object(properties: properties, additional: additional))
    }

    /// A string-keyed map whose values all match `values`.
    public static func map(of values: JSONSchema) -> JSONSchema {
        JSONSchema(.object(properties: [], additional: values))
    }

    public static func oneOf(_ choices: [JSONSchema]) -> JSONSchema { JSONSchema(.oneOf(choices)) }

    public static func ref(_ componentName: String) -> JSONSchema { JSONSchema(.reference(componentName)) }

    // MARK: Modifiers

    public func described(_ text: String) -> JSONSchema {
        var copy = self
        copy.description = text
        return copy
    }

    public func nullable() -> JSONSchema {
        var copy = self
        copy.isNullable = true
        return copy
    }

    public func example(_ value: JSONValue) -> JSONSchema {
        var copy = self
        copy.example = value
        return copy
    }

    /// The component names this schema refers to, directly or nested.
    public var referencedComponents: Set<String> {
        switch kind {
        case .reference(let name): return [name]
        case .array(let items, _): return items.referencedComponents
        case .object(let properties, let additional):
            return properties.reduce(additional?.referencedComponents ?? []) { $0.union($1.schema.referencedComponents) }
        case .oneOf(let choices): return choices.reduce([]) { $0.union($1.referencedComponents) }
        case .any, .string, .integer, .number, .boolean: return []
        }
    }
}
