import Foundation
import Testing
import CZlib
@testable import FFFRecords

// Shared helpers of the FFFRecords tests: readers over memory, independent encoders for every
// format (written here from the format descriptions, not with the code under test), and the
// location of the shared MNIST data.

/// The chunkings every stream test runs under: whole, one byte at a time, small odd chunks,
/// and pseudo-random chunk sizes.
let allChunkings: [MemorySource.Chunking] = [
    .whole, .fixed(1), .fixed(3), .fixed(4093), .random(seed: 1, maxChunk: 17), .random(seed: 42, maxChunk: 5000),
]

/// What a reader delivered before it stopped: the records, and the error it stopped with.
struct Drained {
    var records: [[Float]] = []
    var error: RecordError?
}

/// Reads until the end or the first error (and checks that the error is then sticky).
func drain(_ bytes: [UInt8], _ format: RecordFormat, width: Int, chunking: MemorySource.Chunking = .whole,
           options: RecordReaderOptions = RecordReaderOptions()) throws -> Drained {
    let reader = try RecordReader(source: MemorySource(bytes, chunking: chunking), format: format,
                                  expectedWidth: width, options: options)
    var result = Drained()
    do {
        while let record = try reader.next() { result.records.append(record) }
        #expect(reader.recordsRead == result.records.count)
        #expect(try reader.next() == nil, "end of input stays the end")
    } catch {
        result.error = error
        #expect(reader.recordsRead == result.records.count)
        #expect(throws: error, "a failed reader keeps failing with the same error") { try reader.next() }
    }
    return result
}

/// The records, which must end without error.
func readAll(_ bytes: [UInt8], _ format: RecordFormat, width: Int, chunking: MemorySource.Chunking = .whole,
             options: RecordReaderOptions = RecordReaderOptions()) throws -> [[Float]] {
    let d = try drain(bytes, format, width: width, chunking: chunking, options: options)
    if let error = d.error { throw error }
    return d.records
}

/// Bit patterns, so -0.0 differs from 0.0 and NaNs compare.
func bits(_ records: [[Float]]) -> [[UInt32]] { records.map { $0.map(\.bitPattern) } }

/// Checks an error's kind, record, column and message fragments.
func expectError(_ error: RecordError?, _ kind: RecordError.Kind, record: Int? = nil, column: Int? = nil,
                 _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else {
        Issue.record("expected a \(kind) error, got none", sourceLocation: sourceLocation)
        return
    }
    #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
    if let record { #expect(error.recordNumber == record, "\(error.message)", sourceLocation: sourceLocation) }
    if let column { #expect(error.column == column, "\(error.message)", sourceLocation: sourceLocation) }
    for f in fragments {
        #expect(error.message.contains(f), "'\(error.message)' lacks '\(f)'", sourceLocation: sourceLocation)
    }
}

func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

// MARK: Encoders

enum Encode {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }

    /// An IDX stream: magic 00 00 `type` ndims, big-endian u32 dims, then `values` in `type`,
    /// big-endian.
    static func idx(type: UInt8, dims: [Int], values: [Float]) -> [UInt8] {
        var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
        for d in dims { out += be32(d) }
        for v in values {
            switch type {
            case 0x08: out.append(UInt8(v))
            case 0x09: out.append(UInt8(bitPattern: Int8(v)))
            case 0x0B: let x = UInt16(bitPattern: Int16(v)); out += [UInt8(x >> 8), UInt8(x & 255)]
            case 0x0C: out += be32(Int(UInt32(bitPattern: Int32(v))))
            case 0x0D: out += be32(Int(v.bitPattern))
            case 0x0E: out += withUnsafeBytes(of: Double(v).bitPattern.bigEndian, Array.init)
            default: fatalError("no IDX type \(type)")
            }
        }
        return out
    }

    /// A .npy file with the dict NumPy writes, padded so the data starts at a multiple of 64.
    static func npy(descr: String, shape: [Int], data: [UInt8], version: UInt8 = 1, fortran: Bool = false,
                    dict: String? = nil) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var text = dict ?? "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let fixed = version == 1 ? 10 : 12
        while (fixed + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
        let n = text.utf8.count
        out += version == 1 ? [UInt8(n & 255), UInt8(n >> 8)] : [UInt8(n & 255), UInt8(n >> 8 & 255), UInt8(n >> 16 & 255), UInt8(n >> 24)]
        return out + Array(text.utf8) + data
    }

    static func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    static func f32(_ values: [Float]) -> [UInt8] { le(values.map(\.bitPattern)) }
    static func f64(_ values: [Double]) -> [UInt8] { le(values.map(\.bitPattern)) }

    /// Text records: `render` turns each value into a token.
    static func text(_ records: [[Float]], separator: String, lineEnd: String = "\n",
                     render: (Float) -> String = { $0.description }) -> [UInt8] {
        utf8(records.map { $0.map(render).joined(separator: separator) + lineEnd }.joined())
    }
}

/// gzip of `bytes`, written with zlib's deflate (the encoder; the reader uses inflate).
func gzip(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
    var stream = z_stream()
    // windowBits 15 + 16: a gzip wrapper.
    let status = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                               Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
    var input = bytes
    let produced = input.withUnsafeMutableBufferPointer { inp in
        out.withUnsafeMutableBufferPointer { outp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            stream.next_out = outp.baseAddress
            stream.avail_out = uInt(outp.count)
            let r = deflate(&stream, Z_FINISH)
            precondition(r == Z_STREAM_END)
            return outp.count - Int(stream.avail_out)
        }
    }
    deflateEnd(&stream)
    return Array(out[0..<produced])
}

/// The exact decimal expansion of a finite positive Double, as "digits" "e" exponent.
func exactDecimal(_ d: Double) -> String {
    precondition(d > 0 && d.isFinite)
    var m = d.significandBitPattern
    var e = Int(d.exponentBitPattern) - 1075
    if d.exponentBitPattern == 0 { e = -1074 } else { m |= 1 << 52 }
    // Big integer, base 10^9, little-endian limbs.
    var limbs: [UInt64] = [m % 1_000_000_000, m / 1_000_000_000 % 1_000_000_000, m / 1_000_000_000_000_000_000]
    func multiply(_ k: UInt64) {
        var carry: UInt64 = 0
        for i in limbs.indices {
            let x = limbs[i] * k + carry
            limbs[i] = x % 1_000_000_000
            carry = x / 1_000_000_000
        }
        while carry > 0 { limbs.append(carry % 1_000_000_000); carry /= 1_000_000_000 }
    }
    var exponent10 = 0
    if e >= 0 {
        for _ in 0..<e { multiply(2) }
    } else {
        for _ in 0..<(-e) { multiply(5) }  // m * 2^e = m * 5^-e * 10^e
        exponent10 = e
    }
    while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
    var digits = String(limbs.last!)
    for limb in limbs.dropLast().reversed() {
        let s = String(limb)
        digits += String(repeating: "0", count: 9 - s.count) + s
    }
    return "\(digits)e\(exponent10)"
}

/// The shared MNIST files (../shared beside the repository, or $FFF_SHARED_DIR), or nil.
enum SharedData {
    static var directory: String? {
        if let env = ProcessInfo.processInfo.environment["FFF_SHARED_DIR"] { return env }
        // Tests/FFFRecordsTests/TestSupport.swift -> repository root -> ../shared
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(4)
        return parts.joined(separator: "/") + "/shared"
    }

    static func file(_ name: String) -> String? {
        guard let dir = directory else { return nil }
        let path = dir + "/data/mnist/" + name
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static let images = file("t10k-images-idx3-ubyte.gz")
    static let labels = file("t10k-labels-idx1-ubyte.gz")
    static let absentNote = "the shared MNIST data is absent (looked in ../shared/data/mnist beside the repository and $FFF_SHARED_DIR)"
}
