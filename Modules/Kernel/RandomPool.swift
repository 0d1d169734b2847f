import Foundation
import Synchronization

/// Random bytes from the kernel's CSPRNG (`arc4random_buf`), drawn `refillByteCount` at a time and handed out once
/// each, in order. WHY: a card sale takes about six ids, and each `arc4random_buf` was a getrandom system call of its
/// own (about 1.5% of the server's CPU in the end-to-end sale bench). The bytes are the same CSPRNG output, no byte is
/// handed out twice, and a handed-out byte is zeroed in the pool.
enum RandomPool {
    static let refillByteCount = 4_096
    /// Larger requests are drawn from the kernel directly: the pool serves small ids.
    static let pooledRequestByteCountMax = 64

    private struct Pool: ~Copyable {
        var bytes = [UInt8](repeating: 0, count: RandomPool.refillByteCount)
        var next = RandomPool.refillByteCount
    }

    private static let pool = Mutex(Pool())

    static func fill(_ target: UnsafeMutableRawBufferPointer) {
        guard let base = target.baseAddress, !target.isEmpty else { return }
        guard target.count <= pooledRequestByteCountMax else { return arc4random_buf(base, target.count) }
        pool.withLock { pool in
            if pool.next + target.count > pool.bytes.count {
                pool.bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
                pool.next = 0
            }
            let start = pool.next
            pool.bytes.withUnsafeMutableBytes { source in
                let slice = UnsafeMutableRawBufferPointer(rebasing: source[start..<start + target.count])
                target.copyMemory(from: UnsafeRawBufferPointer(slice))
                slice.initializeMemory(as: UInt8.self, repeating: 0)
            }
            pool.next = start + target.count
        }
    }
}
