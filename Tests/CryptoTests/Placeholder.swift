import Testing
@testable import Crypto
@Test func CryptoPlaceholder() {}
