/// The type of one binary value: how many bytes, which kind of number, which byte order.
/// `decode` converts a run of them to Float (integers exactly up to 2^24, then rounded).
struct ElementType: Equatable, Sendable {
    enum Kind: Sendable { case float, signed, unsigned }

    let kind: Kind
    /// Bytes per value: 1, 2, 4 or 8 (float: 2, 4 or 8).
    let size: Int
    let bigEndian: Bool

    static let u8 = ElementType(kind: .unsigned, size: 1, bigEndian: false)
    static let f32 = ElementType(kind: .float, size: 4, bigEndian: false)
    static let f64 = ElementType(kind: .float, size: 8, bigEndian: false)

    /// NumPy's spelling without byte order: `f4`, `u1`, `i8`.
    var name: String {
        let letter = kind == .float ? "f" : kind == .signed ? "i" : "u"
        return "\(letter)\(size)"
    }

    /// Converts `count` values at `source` (any alignment) to Float at `destination`. O(count).
    func decode(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        // One loop per type so each compiles to a tight (vectorisable) loop.
        switch (kind, size) {
        case (.unsigned, 1):
            Self.decodeBytes(source, count: count, into: destination)
        case (.signed, 1):
            for i in 0..<count { destination[i] = Float(source.load(fromByteOffset: i, as: Int8.self)) }
        case (.unsigned, 2):
            for i in 0..<count { destination[i] = Float(load16(source, i)) }
        case (.signed, 2):
            for i in 0..<count { destination[i] = Float(Int16(bitPattern: load16(source, i))) }
        case (.float, 2):
            for i in 0..<count { destination[i] = Self.halfToFloat(load16(source, i)) }
        case (.unsigned, 4):
            for i in 0..<count { destination[i] = Float(load32(source, i)) }
        case (.signed, 4):
            for i in 0..<count { destination[i] = Float(Int32(bitPattern: load32(source, i))) }
        case (.float, 4):
            for i in 0..<count { destination[i] = Float(bitPattern: load32(source, i)) }
        case (.unsigned, 8):
            for i in 0..<count { destination[i] = Float(load64(source, i)) }
        case (.signed, 8):
            for i in 0..<count { destination[i] = Float(Int64(bitPattern: load64(source, i))) }
        case (.float, 8):
            for i in 0..<count { destination[i] = Float(Double(bitPattern: load64(source, i))) }
        default:
            preconditionFailure("ElementType \(name) is never constructed")
        }
    }

    /// u8 to Float, 16 at a time: each byte widened into the low bits of 2^23's float pattern,
    /// minus 2^23, is the byte's value exactly (no call, no scalar conversion per value).
    @inline(__always)
    private static func decodeBytes(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= count {
            let bytes = source.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let bits = SIMD16<UInt32>(truncatingIfNeeded: bytes) | SIMD16<UInt32>(repeating: 0x4B00_0000)
            let values = unsafeBitCast(bits, to: SIMD16<Float>.self) - SIMD16<Float>(repeating: 8_388_608)
            UnsafeMutableRawPointer(destination + i).storeBytes(of: values, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            destination[i] = Float(source.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
    }

    /// The value at `index` as the Double it is in the input (exact for every supported type),
    /// for error messages.
    func value(_ source: UnsafeRawPointer, at index: Int) -> Double {
        switch (kind, size) {
        case (.float, 8): return Double(bitPattern: load64(source, index))
        case (.float, 2): return Double(Self.halfToFloat(load16(source, index)))
        case (.float, _): return Double(Float(bitPattern: load32(source, index)))
        default:
            var one: Float = 0
            decode(source + index * size, count: 1, into: &one)
            return Double(one)
        }
    }

    @inline(__always) private func load16(_ p: UnsafeRawPointer, _ i: Int) -> UInt16 {
        let raw = p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
    }

    @inline(__always) private func load32(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
        let raw = p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    @inline(__always) private func load64(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        let raw = p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
        return bigEndian ? UInt64(bigEndian: raw) : UInt64(littleEndian: raw)
    }

    /// IEEE binary16 to Float, exactly (every half value is a Float). Written out rather than
    /// using `Float16`, which is not available on every platform Swift targets.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let fraction = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(fraction) * 0x1p-24  // zero or subnormal
            return sign != 0 ? -magnitude : magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13) }
        return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)
    }
}
