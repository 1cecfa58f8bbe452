/// Bounds-checked little-endian reads from a byte buffer of unknown provenance.
///
/// Every read returns `nil` instead of trapping when it would leave the buffer, whatever the
/// offsets and counts (negative, huge, overflowing). Callers turn `nil` into the error the spec
/// gives for the structure they were reading.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    /// The cursor of the `read...` methods.
    var position: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var count: Int { bytes.count }
    /// Bytes between the cursor and the end.
    var remaining: Int { bytes.count - position }

    /// True if `offset ..< offset + length` lies inside the buffer; overflow-safe.
    func contains(offset: Int, length: Int) -> Bool {
        guard offset >= 0, length >= 0 else { return false }
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= bytes.count
    }

    func u8(at offset: Int) -> UInt8? {
        guard contains(offset: offset, length: 1) else { return nil }
        return bytes[offset]
    }

    func u16(at offset: Int) -> UInt16? { integer(at: offset) }
    func u32(at offset: Int) -> UInt32? { integer(at: offset) }
    func u64(at offset: Int) -> UInt64? { integer(at: offset) }

    /// The bytes `offset ..< offset + length`, or `nil` if they are not all inside the buffer.
    func slice(at offset: Int, length: Int) -> UnsafeRawBufferPointer? {
        guard contains(offset: offset, length: length) else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + length])
    }

    mutating func readU32() -> UInt32? {
        guard let value = u32(at: position) else { return nil }
        position += 4
        return value
    }

    /// The next `length` bytes; the cursor does not move if they are not all there.
    mutating func readBytes(_ length: Int) -> UnsafeRawBufferPointer? {
        guard let result = slice(at: position, length: length) else { return nil }
        position += length
        return result
    }

    private func integer<T: FixedWidthInteger>(at offset: Int) -> T? {
        guard contains(offset: offset, length: MemoryLayout<T>.size), let base = bytes.baseAddress else { return nil }
        return T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
