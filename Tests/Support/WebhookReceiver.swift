import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP receiver for webhook tests: `bench/webhooks/receiver.py` (Python's http.server) in a child
/// process, answering by path (`/ok`, `/gone`, `/busy`, `/slow?s=N`, …) and recording every request.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Recorded: Sendable {
        public let path: String
        public let query: String
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public let port: Int
    public let logPath: String
    private let process: Process

    /// Starts the receiver on 127.0.0.1 (with TLS when `tls` names a certificate and key).
    public init(tls: (certificate: String, key: String)? = nil) throws {
        logPath = NSTemporaryDirectory() + "atlas-webhook-receiver-\(UUID().uuidString).jsonl"
        guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: logPath])
        }
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", BenchScript.root.appendingPathComponent("bench/webhooks/receiver.py").path, logPath]
        if let tls { arguments += ["--tls", tls.certificate, tls.key] }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        let handle = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { throw Failure("the receiver exited before printing its port") }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure("the receiver printed no port")
        }
        self.port = port
    }

    deinit { stop() }

    public func url(_ path: String, scheme: String = "http", host: String = "127.0.0.1") -> String {
        "\(scheme)://\(host):\(port)\(path)"
    }

    /// Ends the receiver. WHY no `waitUntilExit`: a child of `Process` inherits the spawning thread's blocked
    /// signals, so SIGTERM never arrived (receiver.py now unblocks it) and the wait blocked a cooperative
    /// thread for good; not waiting keeps a stuck child from stalling the suite, and Foundation reaps it.
    public func stop() {
        if process.isRunning { process.terminate() }
    }

    /// A loopback port nothing listens on (bound, never listened, closed): connections to it are refused.
    public static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else { throw Failure("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Every request received so far, in arrival order.
    public func requests() throws -> [Recorded] {
        let text = try String(contentsOfFile: logPath, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let path = object["path"] as? String, let pairs = object["headers"] as? [[String]],
                  let encoded = object["body"] as? String, let body = Data(base64Encoded: encoded) else {
                throw Failure("unreadable receiver log line")
            }
            return Recorded(path: path, query: object["query"] as? String ?? "",
                            headers: pairs.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, body: Array(body))
        }
    }

    /// Waits until at least `count` requests arrived.
    public func waitForRequests(_ count: Int, timeoutSeconds: Double = 20) async throws -> [Recorded] {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            let received = try requests()
            if received.count >= count { return received }
            guard Date() < deadline else { throw Failure("\(received.count) of \(count) requests arrived in time") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs `bench/webhooks/verify.py` over every recorded request: Standard Webhooks (its Python library)
    /// and an independent HMAC check of the flavour's own signature header (`Atlas-Signature`, accounting's
    /// `X-Atlas-Signature`, payments' `x-atlas-signature`). Returns its output ("PASS n" when all verify).
    public func verifyAll(secret: String, flavour: String = "commerce") throws -> String {
        try Self.verify(logPath: logPath, secret: secret, flavour: flavour)
    }

    /// `verify.py` over a log in the receiver's format (one JSON object per line: headers, base64 body).
    public static func verify(logPath: String, secret: String, flavour: String) throws -> String {
        let verifier = Process()
        verifier.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        verifier.arguments = ["python3", BenchScript.root.appendingPathComponent("bench/webhooks/verify.py").path, logPath, secret,
                              flavour]
        let output = Pipe()
        verifier.standardOutput = output
        verifier.standardError = output
        try verifier.run()
        // Read to the end (the script has exited then); its verdict is in its output.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }
}
