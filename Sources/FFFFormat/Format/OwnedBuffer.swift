/// A heap buffer freed with its owner, for storage that a `ByteReader` or libzstd keeps pointing
/// into across calls (an Array's address is only valid inside `withUnsafeBytes`).
final class OwnedBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    /// `count` uninitialized bytes, 16-byte aligned.
    init(count: Int) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        bytes = UnsafeMutableRawBufferPointer(rebasing: storage[0 ..< count])
    }

    deinit { bytes.deallocate() }
}
