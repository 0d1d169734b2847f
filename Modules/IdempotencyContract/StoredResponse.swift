public import Kernel

/// A response as stored for replay under its Idempotency-Key.
public struct StoredResponse: Sendable, Hashable {
    public let status: Int
    public let headers: [String: String]
    public let body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A finished response only: a streamed body (`Response.streamed`) is never stored for replay, so building
    /// one from it is a programmer error (docs/architecture.md, Idempotency-Keys).
    public init(_ response: Response) {
        precondition(response.bodyProducer == nil, "a streamed response cannot be stored for an Idempotency-Key replay")
        var headers: [String: String] = [:]
        for field in response.headers where StoredResponse.replayedHeaderNames.contains(field.name.lowercased()) {
            headers[field.name] = field.value
        }
        self.init(status: response.status, headers: headers, body: response.body)
    }

    /// Only content headers are replayed; rate-limit and request-id headers belong to the new request.
    static let replayedHeaderNames: Set<String> = ["content-type", "location"]

    public var response: Response {
        var response = Response(status: status, body: body)
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { response.headers.add(name, value) }
        return response
    }
}
