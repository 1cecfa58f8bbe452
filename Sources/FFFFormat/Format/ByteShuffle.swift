/// The `shuffle` filter of spec/FORMAT.md §4.2: a payload of `n` elements of `unit` bytes is
/// stored as byte 0 of every element, then byte 1 of every element, and so on (byte `j` of
/// element `i` goes to `j * n + i`). Float exponents end up side by side, which zstd compresses
/// better.
enum ByteShuffle {
    /// The units the format allows.
    static let units: Set<Int> = [2, 4, 8]

    /// Writes the shuffled `source` into `destination`.
    /// - Precondition: `unit` is 2, 4 or 8; both buffers have the same count, a multiple of `unit`,
    ///   and do not overlap. The reader proves these before calling.
    /// - Complexity: O(`source.count`).
    static func shuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, unit: Int) {
        precondition(units.contains(unit) && source.count == destination.count && source.count % unit == 0)
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = source.count / unit
        for j in 0..<unit {
            let plane = dst + j * n
            var i = 0
            while i < n {
                plane.storeBytes(of: src.load(fromByteOffset: i * unit + j, as: UInt8.self), toByteOffset: i, as: UInt8.self)
                i += 1
            }
        }
    }

    /// Undoes `shuffle`: writes the original payload of the shuffled `source` into `destination`.
    /// - Precondition: as for `shuffle`.
    /// - Complexity: O(`source.count`).
    static func unshuffle(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer, unit: Int) {
        precondition(units.contains(unit) && source.count == destination.count && source.count % unit == 0)
        guard let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let n = source.count / unit
        switch unit {
        case 4:
            // The common case (float32 tensors): gather four planes into one 32-bit store.
            let p0 = src, p1 = src + n, p2 = src + 2 * n, p3 = src + 3 * n
            for i in 0..<n {
                let word = UInt32(p0.load(fromByteOffset: i, as: UInt8.self))
                    | UInt32(p1.load(fromByteOffset: i, as: UInt8.self)) << 8
                    | UInt32(p2.load(fromByteOffset: i, as: UInt8.self)) << 16
                    | UInt32(p3.load(fromByteOffset: i, as: UInt8.self)) << 24
                dst.storeBytes(of: word.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            }
        default:
            for j in 0..<unit {
                let plane = src + j * n
                for i in 0..<n {
                    dst.storeBytes(of: plane.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i * unit + j, as: UInt8.self)
                }
            }
        }
    }

    /// `shuffle` into a new array.
    static func shuffled(_ bytes: [UInt8], unit: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
            bytes.withUnsafeBytes { shuffle($0, into: UnsafeMutableRawBufferPointer(buffer), unit: unit) }
            initialized = bytes.count
        }
    }

    /// `unshuffle` into a new array.
    static func unshuffled(_ bytes: [UInt8], unit: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, initialized in
            bytes.withUnsafeBytes { unshuffle($0, into: UnsafeMutableRawBufferPointer(buffer), unit: unit) }
            initialized = bytes.count
        }
    }
}
