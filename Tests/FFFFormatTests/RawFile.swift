import FFFTestSupport
@testable import FFFFormat

/// A test-side encoder of FFF files written from spec/FORMAT.md, independent of `FFFWriter`
/// (own CRC, own layout), able to produce exactly the malformed files a test needs.
enum Raw {
    /// Byte-at-a-time CRC-32 (reflected 0xEDB88320): the reference the sliced one is checked against.
    static func crc(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    /// The bit-at-a-time step applied to each byte value once (the classic byte-wise table).
    private static let crcTable: [UInt32] = (0..<256).map { (b: Int) -> UInt32 in
        var c = UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        return c
    }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }

    static func string(_ bytes: [UInt8]) -> [UInt8] { le(UInt32(bytes.count)) + bytes }

    static func u32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    static func u64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
    }

    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        for (k, byte) in le(value).enumerated() { bytes[offset + k] = byte }
    }

    /// Recomputes every checksum of a file (sections, table, header) after a test patched it,
    /// trusting its table's offsets and lengths.
    static func rechecksum(_ bytes: inout [UInt8]) {
        let count = Int(u32(bytes, at: 12))
        for i in 0..<count {
            let entry = 32 + 40 * i
            if entry + 40 > bytes.count { break }
            let offset = u64(bytes, at: entry + 8)
            let stored = u64(bytes, at: entry + 16)
            if offset <= UInt64(bytes.count), stored <= UInt64(bytes.count) - offset {
                put(crc(bytes[Int(offset) ..< Int(offset + stored)]), into: &bytes, at: entry + 36)
            }
        }
        if count <= 1024, 32 + 40 * count + 4 <= bytes.count {
            put(crc(bytes[32 ..< 32 + 40 * count]), into: &bytes, at: 32 + 40 * count)
        }
        put(crc(bytes[0..<28]), into: &bytes, at: 28)
    }

    /// File offset of the table entry of the first section of `type`.
    static func entryOffset(_ bytes: [UInt8], type: String) -> Int? {
        let count = Int(u32(bytes, at: 12))
        return (0..<count).map { 32 + 40 * $0 }.first { Array(bytes[$0 ..< $0 + 4]) == Array(type.utf8) }
    }

    /// File offset of the stored bytes of the first section of `type`.
    static func sectionOffset(_ bytes: [UInt8], type: String) -> Int? {
        entryOffset(bytes, type: type).map { Int(u64(bytes, at: $0 + 8)) }
    }
}

/// One section as the raw encoder writes it; every field settable, including wrong values.
struct RawSection {
    var type: [UInt8]
    var flags: UInt32
    var codec: UInt8 = 0
    var filter: UInt8 = 0
    var unit: UInt8 = 0
    var reserved: UInt8 = 0
    var stored: [UInt8]
    var decodedLength: UInt64
    /// Replaces the computed checksum when set.
    var checksum: UInt32?

    /// A plain (codec none, no filter) section with the spec's critical bit for its type.
    init(_ type: String, _ payload: [UInt8], critical: Bool? = nil) {
        self.type = Array(type.utf8)
        let isCritical = critical ?? (type != "LABL" && type != "META" && !type.hasPrefix("x"))
        self.flags = isCritical ? 1 : 0
        self.stored = payload
        self.decodedLength = UInt64(payload.count)
    }

    /// The same payload stored as one zstd frame (through libzstd at level 3).
    func zstd() -> RawSection {
        var copy = self
        copy.stored = stored.withUnsafeBytes { ZstdCodec.compress($0, level: 3)! }
        copy.codec = 1
        return copy
    }

    /// The same payload shuffled with `unit` (by the spec's definition, computed here).
    func shuffled(unit: Int) -> RawSection {
        var copy = self
        let n = stored.count / unit
        var out = [UInt8](repeating: 0, count: stored.count)
        for i in 0..<n { for j in 0..<unit { out[j * n + i] = stored[i * unit + j] } }
        copy.stored = out
        copy.filter = 1
        copy.unit = UInt8(unit)
        return copy
    }
}

/// A whole file; `bytes` lays it out per §3.3 unless a test overrides a field.
struct RawFile {
    var major: UInt16 = 1
    var minor: UInt16 = 0
    var headerFlags: UInt32 = 0
    var trailerReserved: UInt32 = 0
    var sections: [RawSection]
    /// Written into every padding byte.
    var padding: UInt8 = 0
    /// Replaces the declared file length when set.
    var declaredLength: UInt64?
    /// Replaces the declared section count when set (the table still holds `sections`).
    var declaredCount: UInt32?

    var bytes: [UInt8] {
        let tableEnd = 32 + 40 * sections.count + 8
        var offsets: [Int] = []
        var end = tableEnd
        for (i, section) in sections.enumerated() {
            let offset = i == 0 ? tableEnd : (end + 7) / 8 * 8
            offsets.append(offset)
            end = offset + section.stored.count
        }
        var out: [UInt8] = [0x89, 0x46, 0x46, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        out += Raw.le(major) + Raw.le(minor) + Raw.le(declaredCount ?? UInt32(sections.count))
        out += Raw.le(declaredLength ?? UInt64(end)) + Raw.le(headerFlags)
        out += Raw.le(Raw.crc(out))
        var table: [UInt8] = []
        for (section, offset) in zip(sections, offsets) {
            table += section.type + Raw.le(section.flags) + Raw.le(UInt64(offset))
            table += Raw.le(UInt64(section.stored.count)) + Raw.le(section.decodedLength)
            table += [section.codec, section.filter, section.unit, section.reserved]
            table += Raw.le(section.checksum ?? Raw.crc(section.stored))
        }
        out += table + Raw.le(Raw.crc(table)) + Raw.le(trailerReserved)
        for (section, offset) in zip(sections, offsets) {
            out += [UInt8](repeating: padding, count: offset - out.count)
            out += section.stored
        }
        return out
    }
}

/// A model written field by field from the spec: MODL and every tensor section, small.
struct RawModel {
    var kind: UInt32 = 1
    var input: UInt32 = 3
    var output: UInt32 = 2
    var depth: UInt32 = 1
    var leafWidth: UInt32 = 2
    var masterWidth: UInt32 = 0
    var activation: UInt8 = 1
    /// Byte 25: the element type of `LFW1`, `LFW2`, `MSW1`, `MSW2` (1.1).
    var weightType: UInt8 = 0
    /// Byte 26: the element type of `NODW` (1.1; reserved in 1.0).
    var nodeType: UInt8 = 0
    var reserved27: UInt8 = 0
    var mixingLogitBits: UInt32 = 0
    var reservedTail: [UInt8] = Array(repeating: 0, count: 32)

    var modl: [UInt8] {
        Raw.le(kind) + Raw.le(input) + Raw.le(output) + Raw.le(depth) + Raw.le(leafWidth) + Raw.le(masterWidth)
            + [activation, weightType, nodeType, reserved27] + Raw.le(mixingLogitBits) + reservedTail
    }

    /// Every section the header implies, in §6 order, with deterministic values: weights in
    /// their element types (float16 and bfloat16 as random finite bit patterns, int8-row as
    /// random positive scales and q in -127 ... 127), biases float32.
    var sections: [RawSection] {
        var rng = SplitMix64(seed: 7)
        let (i, o, h, m) = (Int(input), Int(output), Int(leafWidth), Int(masterWidth))
        let l = 1 << Int(depth)
        let n = l - 1
        var result = [RawSection("MODL", modl)]
        func tensor(_ type: String, _ count: Int) { result.append(RawSection(type, Raw.floats(rng.floats(count)))) }
        func weights(_ type: String, _ code: UInt8, rows: Int, count: Int) {
            result.append(RawSection(type, RawModel.weights(code, rows: rows, count: count, rng: &rng)))
        }
        if depth > 0 {
            weights("NODW", nodeType, rows: n, count: n * i)
            tensor("NODB", n)
        }
        weights("LFW1", weightType, rows: l * h, count: l * i * h)
        tensor("LFB1", l * h)
        weights("LFW2", weightType, rows: l * o, count: l * h * o)
        tensor("LFB2", l * o)
        if m > 0 {
            weights("MSW1", weightType, rows: m, count: i * m)
            tensor("MSB1", m)
            weights("MSW2", weightType, rows: o, count: m * o)
            tensor("MSB2", o)
        }
        return result
    }

    /// A weight payload of `count` elements in `rows` rows stored as element type `code`
    /// (unknown codes: float32).
    static func weights(_ code: UInt8, rows: Int, count: Int, rng: inout SplitMix64) -> [UInt8] {
        switch code {
        case 1:  // float16: sign, exponent 0 ... 30, mantissa
            return (0..<count).flatMap { _ in
                let r = rng.next()
                return Raw.le(UInt16(r & 0x8000) | UInt16((r >> 16) % 31) << 10 | UInt16((r >> 32) & 0x3FF))
            }
        case 2:  // bfloat16: the upper half of a finite float32
            return (0..<count).flatMap { _ in Raw.le(UInt16(rng.float().bitPattern >> 16)) }
        case 3:  // int8-row
            let scales = (0..<rows).map { _ in abs(rng.float()) / 64 + 0x1p-20 }
            let q = (0..<count).map { _ in UInt8(bitPattern: Int8(Int(rng.next() % 255) - 127)) }
            return Raw.floats(scales) + q
        default:
            return Raw.floats(rng.floats(count))
        }
    }

    var file: RawFile { RawFile(sections: sections) }

    /// A `LABL` payload from label bytes.
    static func labels(_ labels: [[UInt8]], count: UInt32? = nil) -> [UInt8] {
        Raw.le(count ?? UInt32(labels.count)) + Raw.le(UInt32(0)) + labels.flatMap(Raw.string)
    }

    /// A `META` payload from key/value bytes.
    static func metadata(_ pairs: [([UInt8], [UInt8])], count: UInt32? = nil) -> [UInt8] {
        Raw.le(count ?? UInt32(pairs.count)) + Raw.le(UInt32(0)) + pairs.flatMap { Raw.string($0.0) + Raw.string($0.1) }
    }

    /// A `PREP` payload.
    static func preprocessing(scale: [Float], offset: [Float], count: UInt32? = nil) -> [UInt8] {
        Raw.le(count ?? UInt32(scale.count)) + Raw.le(UInt32(0)) + Raw.floats(scale) + Raw.floats(offset)
    }
}

extension RawFile {
    /// Index of the first section of `type`.
    func index(of type: String) -> Int? { sections.firstIndex { $0.type == Array(type.utf8) } }
}
