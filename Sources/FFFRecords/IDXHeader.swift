/// The header of an IDX stream: magic `00 00 TT NN` (TT the data type, NN the number of
/// dimensions), then NN big-endian u32 dimensions. The first dimension counts the records; the
/// product of the others is the record width (1 for a 1-D file such as MNIST labels).
struct IDXHeader: Equatable, Sendable {
    /// The largest number of values in one record accepted from a header.
    static let maxRecordWidth = 1 << 30

    let element: ElementType
    let dimensions: [Int]

    var recordCount: Int { dimensions[0] }
    var recordWidth: Int { dimensions.dropFirst().reduce(1, *) }
    /// Header bytes, magic included.
    var length: Int { 4 + 4 * dimensions.count }

    /// The record shape in words: "28x28 = 784 values", "100 values", "single values".
    var recordShapeDescription: String {
        let inner = dimensions.dropFirst()
        switch inner.count {
        case 0: return "single values"
        case 1: return "\(inner.first!) values"
        default: return inner.map(String.init).joined(separator: "x") + " = \(recordWidth) values"
        }
    }

    /// Whether `bytes` (at least 4) start like an IDX header: two zero bytes, a known type
    /// code, at least one dimension. Used by format detection.
    static func looksLikeIDX(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0 && element(code: bytes[2]) != nil && bytes[3] >= 1
    }

    /// The full header length announced by its first 4 bytes. Throws `.badHeader` for a wrong
    /// magic, an unknown type code or zero dimensions.
    static func length(announcedBy bytes: UnsafeRawBufferPointer) throws(RecordError) -> Int {
        precondition(bytes.count >= 4)
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw RecordError(.badHeader, "not an IDX stream: it starts with bytes \(Diagnostics.hex(bytes.prefix(4))), not 00 00",
                              byteOffset: 0)
        }
        guard element(code: bytes[2]) != nil else {
            throw RecordError(.badHeader,
                "IDX data type 0x\(Diagnostics.hex(bytes[2])) is not one of 08 (u8), 09 (i8), 0B (i16), 0C (i32), 0D (f32), 0E (f64)",
                byteOffset: 2)
        }
        guard bytes[3] >= 1 else {
            throw RecordError(.badHeader, "the IDX header declares 0 dimensions; at least 1 is needed", byteOffset: 3)
        }
        return 4 + 4 * Int(bytes[3])
    }

    /// Parses a whole header (`length(announcedBy:)` bytes). Throws `.badHeader` for a zero
    /// record dimension or a record wider than `maxRecordWidth`. A record count of 0 is an
    /// empty data set, not an error.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(RecordError) -> IDXHeader {
        let length = try length(announcedBy: bytes)
        precondition(bytes.count >= length)
        var dimensions: [Int] = []
        var width = 1
        for i in 0..<Int(bytes[3]) {
            let at = 4 + 4 * i
            let d = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            if i > 0 {
                if d == 0 {
                    throw RecordError(.badHeader, "IDX dimension \(i + 1) is 0: records would be empty", byteOffset: at)
                }
                let (w, overflow) = width.multipliedReportingOverflow(by: d)
                if overflow || w > maxRecordWidth {
                    throw RecordError(.badHeader,
                        "IDX records would hold more than \(maxRecordWidth) values (dimension \(i + 1) is \(d))",
                        byteOffset: at)
                }
                width = w
            }
            dimensions.append(d)
        }
        return IDXHeader(element: element(code: bytes[2])!, dimensions: dimensions)
    }

    /// Whether `code` is a known IDX data type.
    static func isTypeCode(_ code: UInt8) -> Bool { element(code: code) != nil }

    private static func element(code: UInt8) -> ElementType? {
        switch code {
        case 0x08: return ElementType(kind: .unsigned, size: 1, bigEndian: true)
        case 0x09: return ElementType(kind: .signed, size: 1, bigEndian: true)
        case 0x0B: return ElementType(kind: .signed, size: 2, bigEndian: true)
        case 0x0C: return ElementType(kind: .signed, size: 4, bigEndian: true)
        case 0x0D: return ElementType(kind: .float, size: 4, bigEndian: true)
        case 0x0E: return ElementType(kind: .float, size: 8, bigEndian: true)
        default: return nil
        }
    }
}
