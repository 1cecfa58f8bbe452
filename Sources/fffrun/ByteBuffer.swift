/// A growable run of bytes that output lines are formatted into, reused from record to record so
/// that formatting allocates nothing once the buffer has reached the size of the largest block.
///
/// One buffer belongs to one thread at a time. Appending is amortised O(bytes appended).
final class ByteBuffer {
    /// The bytes, `count` of them initialised.
    private(set) var base: UnsafeMutablePointer<UInt8>
    /// The number of bytes held.
    private(set) var count = 0
    /// The bytes `base` has room for.
    private(set) var capacity: Int

    /// An empty buffer with room for `capacity` bytes (at least 64).
    init(capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The bytes held, valid until the next mutation.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Forgets the bytes held, keeping the memory. O(1).
    func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes, doubling the capacity as needed.
    @inline(__always) func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends one byte.
    @inline(__always) func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    /// Appends `bytes`.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        count += bytes.count
    }

    /// Appends the bytes of an array (no allocation).
    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends an ASCII or UTF-8 literal such as `"\"index\":"`.
    func append(_ text: StaticString) {
        text.withUTF8Buffer { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `value` in decimal.
    func appendDecimal(_ value: Int) {
        reserve(20)
        var magnitude = value.magnitude
        if value < 0 { base[count] = UInt8(ascii: "-"); count += 1 }
        // Write the digits backwards into a small stack area, then copy them forwards.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let written = withUnsafeMutableBytes(of: &digits) { scratch -> Int in
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            let n = scratch.count - i
            (base + count).update(from: scratch.baseAddress!.assumingMemoryBound(to: UInt8.self) + i, count: n)
            return n
        }
        count += written
    }

    /// Appends the shortest decimal that reads back as exactly `value` (Swift's `description`
    /// of `Float`: `0.1`, `1e-05`, `3.4028235e+38`; `nan`, `inf`, `-inf` for non-finite values).
    /// At most 15 bytes, which Swift keeps in a small string without allocating.
    @inline(__always) func appendFloat(_ value: Float) {
        var text = value.description
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `value` as a JSON number (shortest round-trip form), or `null` when not finite.
    @inline(__always) func appendJSONNumber(_ value: Float) {
        if value.isFinite { appendFloat(value) } else { append("null") }
    }

    /// Appends `text` as a JSON string literal, quotes included, escaping `"`, `\` and control
    /// characters.
    func appendJSONString(_ text: String) {
        var copy = text
        copy.withUTF8 { utf8 in
            append(UInt8(ascii: "\""))
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0..<0x20:
                    append("\\u00")
                    append(Self.hexDigit(byte >> 4))
                    append(Self.hexDigit(byte & 15))
                default: append(byte)
                }
            }
            append(UInt8(ascii: "\""))
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
