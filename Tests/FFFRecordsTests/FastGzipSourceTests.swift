import Foundation
import Testing
import CZlib
@testable import FFFRecords

/// `FastGzipSource` (ISA-L, handing over to zlib at anything unusual) against `GzipSource`
/// (zlib) on the same files: the same bytes and the same error, at the same place, for whole,
/// concatenated, truncated and damaged streams and headers zlib accepts or refuses.
@Suite struct FastGzipSourceTests {
    private static let text: [UInt8] = {
        var state: UInt64 = 99
        return (0..<200_000).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return i % 5 == 0 ? UInt8(state >> 58) : UInt8(ascii: "0") + UInt8(i % 10)
        }
    }()

    private func drainSource(_ source: any ByteSource, readSize: Int = 30_000) -> ([UInt8], RecordError?) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: readSize)
        while true {
            do throws(RecordError) {
                let n = try chunk.withUnsafeMutableBytes { b in Result { () throws(RecordError) in try source.read(into: b) } }.get()
                if n == 0 { return (out, nil) }
                out += chunk[0..<n]
            } catch {
                return (out, error)
            }
        }
    }

    /// Both decoders on `bytes` written to a file, after `prefix` bytes read ahead (as the
    /// reader does when it recognises gzip).
    private func expectSame(_ bytes: [UInt8], prefix: Int = 4, _ what: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fastgzip-\(UUID().uuidString).gz").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        func opened() throws -> (FileDescriptorSource, [UInt8]) {
            let file = try FileDescriptorSource(path: path)
            var head = [UInt8](repeating: 0, count: prefix)
            var got = 0
            while got < prefix {
                let n = try head.withUnsafeMutableBytes { b in
                    try Result { () throws(RecordError) in try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[got...])) }.get()
                }
                if n == 0 { break }
                got += n
            }
            return (file, Array(head[0..<got]))
        }
        let (zfile, zhead) = try opened()
        let zlib = drainSource(try zhead.withUnsafeBytes { h in try Result { () throws(RecordError) in try GzipSource(wrapping: zfile, prefix: h) }.get() })
        let (ffile, fhead) = try opened()
        let fast = try #require(fhead.withUnsafeBytes { FastGzipSource(file: ffile, prefix: $0) })
        let isal = drainSource(fast)
        #expect(isal.0 == zlib.0, "\(what): \(isal.0.count) vs \(zlib.0.count) bytes", sourceLocation: sourceLocation)
        #expect(isal.1 == zlib.1, "\(what)", sourceLocation: sourceLocation)
        // And through the inflating thread.
        let (tfile, thead) = try opened()
        let threaded = drainSource(InflateThread(source: try #require(thead.withUnsafeBytes { FastGzipSource(file: tfile, prefix: $0) }),
                                                 chunks: 3, chunkBytes: 8192), readSize: 777)
        #expect(threaded.0 == zlib.0 && threaded.1 == zlib.1, "\(what), threaded", sourceLocation: sourceLocation)
    }

    @Test func wholeAndConcatenatedStreams() throws {
        let one = gzip(Self.text)
        try expectSame(one, "one member")
        try expectSame(one, prefix: 0, "no prefix")
        try expectSame(one, prefix: 100_000, "a long prefix")
        try expectSame(gzip(Array(Self.text[..<777])) + gzip([]) + gzip(Array(Self.text[777...]), level: 1), "three members")
        try expectSame([], prefix: 0, "empty file")
        try expectSame(one + [0, 0, 0, 0], "zeros after the member")
        try expectSame(one + Array("trailing text".utf8), "text after the member")
    }

    @Test func truncatedAndDamagedStreams() throws {
        let one = gzip(Self.text)
        for cut in [1, 3, 9, 10, 11, 500, one.count / 2, one.count - 9, one.count - 8, one.count - 4, one.count - 1] {
            try expectSame(Array(one.prefix(cut)), prefix: min(4, cut), "cut at \(cut)")
        }
        var state: UInt64 = 3
        for _ in 0..<40 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let at = Int(state >> 33) % one.count
            var damaged = one
            damaged[at] ^= UInt8(truncatingIfNeeded: state >> 20) | 1
            try expectSame(damaged, "byte \(at) of \(one.count) flipped")
        }
        var crc = one
        crc[crc.count - 6] ^= 0x40
        try expectSame(crc, "CRC-32 wrong")
        var size = one
        size[size.count - 2] ^= 0x01
        try expectSame(size, "size wrong")
    }

    @Test func headersZlibAcceptsOrRefuses() throws {
        let one = gzip(Self.text)
        var reserved = one
        reserved[3] |= 0x20
        try expectSame(reserved, "reserved flag bit")
        // A header CRC (FHCRC): the low 16 bits of the CRC-32 of the header before it.
        var header = Array(one[0..<10])
        header[3] |= 0x02
        let crc = header.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        let withCRC = header + [UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF)] + Array(one[10...])
        try expectSame(withCRC, "header CRC")
        var badCRC = withCRC
        badCRC[10] ^= 0xFF
        try expectSame(badCRC, "wrong header CRC")
        var name = Array(one[0..<10])
        name[3] |= 0x08
        try expectSame(name + Array("records.csv".utf8) + [0] + Array(one[10...]), "file name")
        try expectSame(gzip(Self.text) + withCRC, "a second member with a header CRC")
    }
}
