public import Kernel

/// `JSONSchema` as the JSON Schema 2020-12 object OpenAPI 3.1 embeds.
extension JSONSchema {
    public var openAPIValue: JSONValue {
        var object = kindMembers
        if isNullable { object = JSONSchema.addingNull(to: object) }
        if let description { object["description"] = .string(description) }
        if let example { object["examples"] = .array([example]) }
        return .object(object)
    }

    private var kindMembers: [String: JSONValue] {
        switch kind {
        case .any: return [:]
        case .boolean: return ["type": "boolean"]
        case .string(let rules): return JSONSchema.members(of: rules)
        case .integer(let minimum, let maximum):
            return JSONSchema.bounded("integer", minimum.map(JSONValue.int), maximum.map(JSONValue.int))
        case .number(let minimum, let maximum):
            return JSONSchema.bounded("number", minimum.map(JSONValue.double), maximum.map(JSONValue.double))
        case .array(let items, let itemsMax):
            var members: [String: JSONValue] = ["type": "array", "items": items.openAPIValue]
            if let itemsMax { members["maxItems"] = .int(Int64(itemsMax)) }
            return members
        case .object(let properties, let additional): return JSONSchema.members(of: properties, additional: additional)
        case .oneOf(let choices): return ["oneOf": .array(choices.map(\.openAPIValue))]
        case .reference(let name): return ["$ref": .string(OpenAPIGenerator.schemaReference(name))]
        }
    }

    private static func members(of rules: StringRules) -> [String: JSONValue] {
        var members: [String: JSONValue] = ["type": "string"]
        if let format = rules.format { members["format"] = .string(format) }
        if let pattern = rules.pattern { members["pattern"] = .string(pattern) }
        if let lengthMin = rules.lengthMin { members["minLength"] = .int(Int64(lengthMin)) }
        if let lengthMax = rules.lengthMax { members["maxLength"] = .int(Int64(lengthMax)) }
        if let values = rules.values { members["enum"] = .array(values.map(JSONValue.string)) }
        return members
    }

    private static func bounded(_ type: String, _ minimum: JSONValue?, _ maximum: JSONValue?) -> [String: JSONValue] {
        var members: [String: JSONValue] = ["type": .string(type)]
        if let minimum { members["minimum"] = minimum }
        if let maximum { members["maximum"] = maximum }
        return members
    }

    private static func members(of properties: [Property], additional: JSONSchema?) -> [String: JSONValue] {
        var members: [String: JSONValue] = ["type": "object"]
        if !properties.isEmpty {
            members["properties"] = .object(Dictionary(properties.map { ($0.name, $0.schema.openAPIValue) },
                                                       uniquingKeysWith: { first, _ in first }))
        }
        let required = properties.filter(\.isRequired).map { JSONValue.string($0.name) }
        if !required.isEmpty { members["required"] = .array(required) }
        switch additional {
        case nil: members["additionalProperties"] = false
        case let schema? where schema.kind == .any && schema.description == nil: members["additionalProperties"] = true
        case let schema?: members["additionalProperties"] = schema.openAPIValue
        }
        return members
    }

    /// `"type": [T, "null"]` (and `null` among enum values); a `$ref` or `oneOf` becomes `anyOf` with null.
    private static func addingNull(to members: [String: JSONValue]) -> [String: JSONValue] {
        guard let type = members["type"]?.stringValue else {
            if members.isEmpty { return members }
            return ["anyOf": .array([.object(members), ["type": "null"]])]
        }
        var members = members
        members["type"] = .array([.string(type), "null"])
        if case .array(let values)? = members["enum"] { members["enum"] = .array(values + [.null]) }
        return members
    }
}
