/// Password storage with scrypt in a self-describing string:
///
///     scrypt$N=32768,r=8,p=1$<salt, base64url>$<hash, base64url>
///
/// The parameters travel with each hash so they can be raised later without invalidating
/// stored hashes (`needsRehash` tells the caller when to re-hash after a successful login).
public struct ScryptPasswordHasher: Sendable {
    public static let algorithm = "scrypt"
    public static let saltBytes = 16
    public static let hashBytes = 32
    /// Longer passwords are refused rather than silently truncated; bounds work per attempt.
    public static let passwordBytesMaximum = 1024
    /// Stored salts/hashes outside these lengths are treated as malformed.
    static let storedSaltBytesRange = 8...64
    static let storedHashBytesRange = 16...64

    public let parameters: ScryptParameters

    public init(parameters: ScryptParameters = .interactive) {
        self.parameters = parameters
    }

    /// Hashes the password's UTF-8 bytes (no Unicode normalization) with a fresh random salt.
    public func hash(_ password: String) throws -> String {
        let passwordBytes = Array(password.utf8)
        guard passwordBytes.count <= Self.passwordBytesMaximum else {
            throw CryptoError.invalidParameter(name: "password", reason: "longer than \(Self.passwordBytesMaximum) bytes")
        }
        let salt = try SecureRandom.bytes(count: Self.saltBytes)
        let derived = try Scrypt.derive(password: passwordBytes, salt: salt, parameters: parameters,
                                        derivedKeyBytes: Self.hashBytes)
        return StoredPasswordHash(parameters: parameters, salt: salt, hash: derived).encoded
    }

    /// True only if `stored` is well-formed, within the accepted cost limits, and matches.
    /// Malformed or out-of-limit strings return false; this never throws or traps on input.
    public func verify(_ password: String, against stored: String) -> Bool {
        let passwordBytes = Array(password.utf8)
        guard passwordBytes.count <= Self.passwordBytesMaximum,
              let parsed = StoredPasswordHash(parsing: stored),
              let derived = try? Scrypt.derive(password: passwordBytes, salt: parsed.salt,
                                               parameters: parsed.parameters, derivedKeyBytes: parsed.hash.count)
        else { return false }
        return ConstantTime.equals(derived, parsed.hash)
    }

    /// True when `stored` is malformed or uses parameters other than this hasher's.
    public func needsRehash(_ stored: String) -> Bool {
        guard let parsed = StoredPasswordHash(parsing: stored) else { return true }
        return parsed.parameters != parameters || parsed.hash.count != Self.hashBytes
    }
}

/// The parsed form of a stored hash. Parsing is strict: exact field order, decimal numbers
/// without signs or leading zeros, strict base64url, and parameter limits enforced.
struct StoredPasswordHash {
    let parameters: ScryptParameters
    let salt: [UInt8]
    let hash: [UInt8]

    init(parameters: ScryptParameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    var encoded: String {
        "\(ScryptPasswordHasher.algorithm)$\(parameters)$\(Base64URL.encode(salt))$\(Base64URL.encode(hash))"
    }

    /// Longest stored string considered; anything longer is malformed.
    static let encodedBytesMaximum = 512

    init?(parsing text: String) {
        guard text.utf8.count <= Self.encodedBytesMaximum else { return nil }
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 4, fields[0] == ScryptPasswordHasher.algorithm,
              let parameters = Self.parseParameters(fields[1]),
              let salt = Base64URL.decode(String(fields[2])),
              let hash = Base64URL.decode(String(fields[3])),
              ScryptPasswordHasher.storedSaltBytesRange.contains(salt.count),
              ScryptPasswordHasher.storedHashBytesRange.contains(hash.count)
        else { return nil }
        self.init(parameters: parameters, salt: salt, hash: hash)
    }

    private static func parseParameters(_ text: Substring) -> ScryptParameters? {
        let pairs = text.split(separator: ",", omittingEmptySubsequences: false)
        guard pairs.count == 3,
              let costFactor = value(pairs[0], name: "N"),
              let blockSize = value(pairs[1], name: "r"),
              let parallelism = value(pairs[2], name: "p")
        else { return nil }
        return try? ScryptParameters(costFactor: costFactor, blockSize: blockSize, parallelism: parallelism)
    }

    /// `name=digits`, at most 10 digits, no leading zero.
    private static func value(_ pair: Substring, name: String) -> UInt64? {
        let prefix = name + "="
        guard pair.hasPrefix(prefix) else { return nil }
        let digits = pair.dropFirst(prefix.count)
        guard (1...10).contains(digits.count), digits.first != "0",
              digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        return UInt64(digits)
    }
}
