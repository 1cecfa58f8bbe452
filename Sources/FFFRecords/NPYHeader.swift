/// The header of a NumPy `.npy` file: magic `\x93NUMPY`, version major/minor, the header
/// length (u16 little-endian in v1, u32 in v2 and v3), then a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (10000, 784), }` padded with spaces and a
/// newline.
struct NPYHeader: Equatable, Sendable {
    /// The longest dict literal accepted (NumPy itself refuses over 10,000 bytes by default).
    static let maxDictLength = 1 << 20
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    let element: ElementType
    let shape: [Int]
    /// Header bytes, magic included: the data starts here.
    let length: Int

    /// Whether `bytes` start with the NPY magic.
    static func looksLikeNPY(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 6 && zip(bytes.prefix(6), magic).allSatisfy { $0 == $1 }
    }

    /// The whole header length announced by its first 12 bytes (10 suffice for v1; pass what
    /// is there). Throws `.badHeader` for a wrong magic, an unknown version or a dict longer
    /// than `maxDictLength`; `.truncated` when too few bytes were given.
    static func length(announcedBy bytes: UnsafeRawBufferPointer) throws(RecordError) -> Int {
        guard bytes.count >= 6, looksLikeNPY(bytes) else {
            if bytes.count < 6 && zip(bytes, magic).allSatisfy({ $0 == $1 }) {
                throw RecordError(.truncated, "the NPY header is truncated: \(bytes.count) of at least 10 bytes")
            }
            throw RecordError(.badHeader,
                "not an NPY stream: it starts with bytes \(Diagnostics.hex(bytes.prefix(6))), not 93 4E 55 4D 50 59 (\\x93NUMPY)",
                byteOffset: 0)
        }
        let fieldSize: Int
        switch bytes.count > 6 ? bytes[6] : 0 {
        case 1: fieldSize = 2
        case 2, 3: fieldSize = 4
        default:
            if bytes.count <= 6 { throw RecordError(.truncated, "the NPY header is truncated: 6 of at least 10 bytes") }
            throw RecordError(.unsupported, "NPY format version \(bytes[6]) is not supported (1, 2 and 3 are)", byteOffset: 6)
        }
        guard bytes.count >= 8 + fieldSize else {
            throw RecordError(.truncated, "the NPY header is truncated: \(bytes.count) of at least \(8 + fieldSize) bytes")
        }
        var dictLength = 0
        for i in (0..<fieldSize).reversed() { dictLength = dictLength << 8 | Int(bytes[8 + i]) }
        guard dictLength <= maxDictLength else {
            throw RecordError(.badHeader,
                "the NPY header declares a \(dictLength)-byte dictionary; at most \(maxDictLength) bytes are accepted",
                byteOffset: 8)
        }
        return 8 + fieldSize + dictLength
    }

    /// Parses a whole header (`length(announcedBy:)` bytes). Throws `.badHeader` for a
    /// malformed dict, missing keys, a 0-d shape or a zero dimension after the first, and
    /// `.unsupported` for Fortran order and unsupported dtypes. A first dimension of 0 is an
    /// empty data set.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RecordError) -> NPYHeader {
        let length = try length(announcedBy: bytes)
        precondition(bytes.count >= length)
        let dictStart = bytes[6] == 1 ? 10 : 12
        var scanner = NPYDictScanner(bytes: Array(bytes[dictStart..<length]), base: dictStart)
        let dict = try scanner.parseDict()

        guard case .string(let descr)? = dict["descr"] else {
            if case .list? = dict["descr"] {
                throw RecordError(.unsupported, "NPY structured dtypes (a list 'descr') are not supported")
            }
            throw RecordError(.badHeader, "the NPY header has no string 'descr' key")
        }
        guard case .bool(let fortranOrder)? = dict["fortran_order"] else {
            throw RecordError(.badHeader, "the NPY header has no True/False 'fortran_order' key")
        }
        guard case .tuple(let shape)? = dict["shape"] else {
            throw RecordError(.badHeader, "the NPY header has no tuple 'shape' key")
        }
        if let extra = dict.keys.sorted().first(where: { !["descr", "fortran_order", "shape"].contains($0) }) {
            throw RecordError(.badHeader, "the NPY header has an unexpected key \(Diagnostics.quote(extra))")
        }
        if fortranOrder {
            throw RecordError(.unsupported,
                "the NPY array is in Fortran order (fortran_order: True); save it in C order (np.ascontiguousarray)")
        }
        let element = try parseDescr(descr)
        if shape.isEmpty {
            throw RecordError(.badHeader, "the NPY array has shape () (a single scalar); records need 1 or more dimensions")
        }
        var width = 1
        for (i, d) in shape.enumerated() where i > 0 || shape.count == 1 {
            if d == 0 {
                throw RecordError(.badHeader, "NPY shape \(describe(shape)) has a zero dimension: records would be empty")
            }
            let (w, overflow) = width.multipliedReportingOverflow(by: d)
            if overflow || w > IDXHeader.maxRecordWidth {
                throw RecordError(.badHeader, "NPY shape \(describe(shape)) makes records of more than \(IDXHeader.maxRecordWidth) values")
            }
            width = w
        }
        return NPYHeader(element: element, shape: shape, length: length)
    }

    /// A shape as Python prints it: `(3,)`, `(2, 3)`.
    static func describe(_ shape: [Int]) -> String {
        shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }

    /// `<f4`, `|u1`, `>i2`... to an element type.
    private static func parseDescr(_ descr: String) throws(RecordError) -> ElementType {
        let supported = "f2, f4, f8, i1, i2, i4, i8, u1, u2, u4, u8"
        var chars = Array(descr.utf8)
        var bigEndian = false
        var orderGiven = false
        if let first = chars.first, "<>|=".utf8.contains(first) {
            bigEndian = first == UInt8(ascii: ">")
            orderGiven = first != UInt8(ascii: "|")
            chars.removeFirst()
        }
        let kind: ElementType.Kind
        switch chars.first {
        case UInt8(ascii: "f"): kind = .float
        case UInt8(ascii: "i"): kind = .signed
        case UInt8(ascii: "u"): kind = .unsigned
        default: throw RecordError(.unsupported, "NPY dtype \(Diagnostics.quote(descr)) is not supported; expected one of \(supported)")
        }
        let size = Int(String(decoding: chars.dropFirst(), as: UTF8.self)) ?? 0
        let valid = kind == .float ? [2, 4, 8].contains(size) : [1, 2, 4, 8].contains(size)
        guard valid else {
            throw RecordError(.unsupported, "NPY dtype \(Diagnostics.quote(descr)) is not supported; expected one of \(supported)")
        }
        if size > 1 && !orderGiven && descr.hasPrefix("|") {
            throw RecordError(.badHeader, "NPY dtype \(Diagnostics.quote(descr)) has no byte order ('|' is for 1-byte types)")
        }
        return ElementType(kind: kind, size: size, bigEndian: bigEndian)
    }
}
