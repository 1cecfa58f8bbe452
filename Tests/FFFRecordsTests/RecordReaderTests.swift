import Testing
@testable import FFFRecords

/// The same records in every encoding, plain and gzip, in every chunking, give the same bits.
@Suite struct RecordReaderTests {
    /// Tricky float32 values (exactly representable, so every encoding can carry them).
    static let values: [Float] = [
        0.1, 3.4028235e38, .leastNonzeroMagnitude, -0.0, 0, 1, -1, 255, 0.5, .leastNormalMagnitude, 16_777_216, -3.1415927, 1e-10,
        65504, 2.3509886e-38, 0.33333334, -1e30, 7, 123_456.79, 9.9999994e-39,
    ]
    static let width = 5
    static var records: [[Float]] { stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) } }

    static var encodings: [(String, RecordFormat, [UInt8])] {
        let r = records
        let f64 = Encode.f64(values.map(Double.init))
        return [
            ("csv shortest", .csv, Encode.text(r, separator: ",")),
            ("csv exact digits", .csv, Encode.text(r, separator: ", ", lineEnd: "\r\n") { $0 == 0 ? ($0.sign == .minus ? "-0" : "0") : ($0 < 0 ? "-" : "") + exactDecimal(Double(abs($0))) }),
            ("tsv", .tsv, Encode.text(r, separator: "\t")),
            ("text", .text, Encode.text(r, separator: "  ")),
            ("auto csv", .auto, utf8("c0,c1,c2,c3,c4\n") + Encode.text(r, separator: ",")),
            ("f32", .f32, Encode.f32(values)),
            ("f64", .f64, f64),
            ("idx f32", .auto, Encode.idx(type: 0x0D, dims: [4, width], values: values)),
            ("idx f64", .idx, Encode.idx(type: 0x0E, dims: [4, 1, width], values: values)),
            ("npy f4", .auto, Encode.npy(descr: "<f4", shape: [4, width], data: Encode.f32(values))),
            ("npy f8 v2", .npy, Encode.npy(descr: "<f8", shape: [4, width], data: f64, version: 2)),
        ]
    }

    @Test(arguments: allChunkings) func everyEncodingAgrees(chunking: MemorySource.Chunking) throws {
        let expected = bits(Self.records)
        for (name, format, bytes) in Self.encodings {
            #expect(bits(try readAll(bytes, format, width: Self.width, chunking: chunking)) == expected, "\(name)")
            #expect(bits(try readAll(gzip(bytes), format, width: Self.width, chunking: chunking)) == expected, "\(name) gzip")
        }
    }

    @Test(arguments: allChunkings) func byteEncodingsAgree(chunking: MemorySource.Chunking) throws {
        let pixels: [UInt8] = (0..<40).map { UInt8($0 * 37 % 256) }
        let expected = stride(from: 0, to: 40, by: 8).map { pixels[$0..<($0 + 8)].map(Float.init) }
        let asFloats = pixels.map(Float.init)
        for (name, format, bytes) in [
            ("u8", RecordFormat.u8, pixels),
            ("idx u8", .auto, Encode.idx(type: 0x08, dims: [5, 2, 4], values: asFloats)),
            ("npy u1", .auto, Encode.npy(descr: "|u1", shape: [5, 8], data: pixels)),
            ("csv", .auto, Encode.text(expected, separator: ",")),
        ] {
            #expect(try readAll(bytes, format, width: 8, chunking: chunking) == expected, "\(name)")
            #expect(try readAll(gzip(bytes), format, width: 8, chunking: chunking) == expected, "\(name) gzip")
        }
    }

    @Test func countersAndResolvedFormat() throws {
        let reader = try RecordReader(source: MemorySource(gzip(Encode.idx(type: 0x08, dims: [3, 2], values: [1, 2, 3, 4, 5, 6]))),
                                      format: .auto, expectedWidth: 2)
        #expect(reader.format == nil)
        try reader.prepare()
        #expect(reader.format == .idx && reader.isCompressed && reader.declaredRecordCount == 3)
        let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2)
        defer { out.deallocate() }
        var n = 0
        while try reader.next(into: out) { n += 1 }
        #expect(n == 3 && reader.recordsRead == 3)
        #expect(reader.bytesConsumed == 4 + 8 + 6)  // decompressed: header, then records
    }
}
