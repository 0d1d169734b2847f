import Crypto
import Kernel

enum CryptoProbe {
    static let service: any CryptoService = OpenSSLCryptoService()
}
