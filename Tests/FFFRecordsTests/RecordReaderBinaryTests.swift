import Testing
@testable import FFFRecords

/// Raw f32/f64/u8, IDX and NPY streams through `RecordReader`, under every chunking.
@Suite struct RecordReaderBinaryTests {
    @Test(arguments: allChunkings) func rawFormats(chunking: MemorySource.Chunking) throws {
        let values: [Float] = [0.1, -0.0, .leastNonzeroMagnitude, 3.4028235e38, -1, 2, 3, 4]
        #expect(bits(try readAll(Encode.f32(values), .f32, width: 4, chunking: chunking))
                == bits([Array(values[0..<4]), Array(values[4...])]))
        let doubles: [Double] = [0.1, -0.0, 1e-300, 1.5, 16777217, -2]
        // Float(Double) rounds: 0.1 -> 0x3DCCCCCD, 1e-300 -> 0, 16777217 -> 16777216 (tie to even).
        #expect(bits(try readAll(Encode.f64(doubles), .f64, width: 3, chunking: chunking))
                == [[0x3DCC_CCCD, 0x8000_0000, 0], [0x3FC0_0000, 0x4B80_0000, 0xC000_0000]])
        #expect(try readAll([0, 255, 7, 128, 1, 2], .u8, width: 2, chunking: chunking) == [[0, 255], [7, 128], [1, 2]])
    }

    @Test(arguments: allChunkings) func truncatedRawRecord(chunking: MemorySource.Chunking) throws {
        let d = try drain(Encode.f32([Float](repeating: 1, count: 6 * 4 + 3)), .f32, width: 4, chunking: chunking)
        #expect(d.records.count == 6)
        expectError(d.error, .truncated, record: 7, "record 7 is truncated: 12 of 16 bytes")
        #expect(d.error?.byteOffset == 96)
    }

    @Test func nonFiniteBinaryValues() throws {
        let nan = Float(bitPattern: 0x7FC0_0001)
        let d = try drain(Encode.f32([1, 2, 3, nan]), .f32, width: 2)
        #expect(d.records == [[1, 2]])
        expectError(d.error, .nonFinite, record: 2, column: 2, "record 2, value 2 is NaN")
        expectError(try drain(Encode.f32([-.infinity]), .f32, width: 1).error, .nonFinite, record: 1, column: 1, "is infinite")
        expectError(try drain(Encode.f64([1, 1e300]), .f64, width: 2).error, .nonFinite, record: 1, column: 2,
                    "value 2 (1e+300) is beyond the Float range")
        let allowed = try readAll(Encode.f32([nan, .infinity]), .f32, width: 2, options: .init(allowNonFinite: true))
        #expect(allowed[0][0].isNaN && allowed[0][1] == .infinity)
        let idx = Encode.idx(type: 0x0D, dims: [1, 2], values: [1, .infinity])
        expectError(try drain(idx, .idx, width: 2).error, .nonFinite, record: 1, column: 2)
    }

    // MARK: IDX

    @Test(arguments: allChunkings) func idxEveryType(chunking: MemorySource.Chunking) throws {
        let ints: [Float] = [0, 1, 100, 127, 5, 6]
        let signed: [Float] = [-128, 127, 0, -1, 5, -6]
        let cases: [(UInt8, [Float])] = [
            (0x08, ints + [255, 200]), (0x09, signed + [-2, 3]), (0x0B, signed + [-32768, 32767]),
            (0x0C, signed + [-2_147_483_648, 16_777_216]), (0x0D, [0.1, -0.0, .leastNonzeroMagnitude, 3.4028235e38, 1, 2, 3, 4]),
            (0x0E, [0.1, -0.0, .leastNonzeroMagnitude, 3.4028235e38, 1, 2, 3, 4]),
        ]
        for (type, values) in cases {
            let stream = Encode.idx(type: type, dims: [2, 2, 2], values: values)
            let reader = try RecordReader(source: MemorySource(stream, chunking: chunking), format: .auto, expectedWidth: 4)
            var got: [[Float]] = []
            while let r = try reader.next() { got.append(r) }
            #expect(reader.format == .idx)
            #expect(reader.declaredRecordCount == 2)
            #expect(bits(got) == bits([Array(values[0..<4]), Array(values[4...])]), "type \(type)")
        }
    }

    @Test func idxLabels() throws {
        // A 1-D IDX file (labels): records of one value.
        #expect(try readAll(Encode.idx(type: 0x08, dims: [3], values: [7, 2, 1]), .idx, width: 1) == [[7], [2], [1]])
    }

    @Test(arguments: allChunkings) func idxCountIsAPromise(chunking: MemorySource.Chunking) throws {
        let full = Encode.idx(type: 0x08, dims: [5, 2, 2], values: (0..<20).map(Float.init))
        // Fewer records than declared, ending inside record 4.
        var d = try drain(Array(full.dropLast(6)), .idx, width: 4, chunking: chunking)
        #expect(d.records == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
        expectError(d.error, .truncated, record: 4, "declares 5 records, but it ends inside record 4 (2 of 4 bytes)")
        // Fewer, ending at a record boundary.
        d = try drain(Array(full.dropLast(8)), .idx, width: 4, chunking: chunking)
        #expect(d.records.count == 3)
        expectError(d.error, .truncated, record: 4, "declares 5 records, but it ends after 3")
        // More data than declared: all five, then the error.
        d = try drain(full + [9], .idx, width: 4, chunking: chunking)
        #expect(d.records.count == 5)
        expectError(d.error, .trailingData, record: 6, "declares 5 records, but data continues after them at byte 36")
        // Zero records declared and none present: an empty data set.
        #expect(try readAll(Encode.idx(type: 0x08, dims: [0, 2], values: []), .idx, width: 2, chunking: chunking) == [])
    }

    @Test func idxBadHeaders() throws {
        func error(_ bytes: [UInt8], _ format: RecordFormat = .idx, width: Int = 4) throws -> RecordError? {
            try drain(bytes, format, width: width).error
        }
        expectError(try error(Encode.idx(type: 0x08, dims: [1, 28, 28], values: []), width: 100), .wrongWidth,
                    "IDX records are 28x28 = 784 values; the model expects 100")
        expectError(try error(Encode.idx(type: 0x08, dims: [1, 100], values: []), width: 4), .wrongWidth,
                    "IDX records are 100 values; the model expects 4")
        expectError(try error(Encode.idx(type: 0x08, dims: [3], values: []), width: 4), .wrongWidth,
                    "IDX records are single values; the model expects 4")
        expectError(try error(utf8("PK\u{3}\u{4}....")), .badHeader, "not an IDX stream: it starts with bytes 50 4B 03 04")
        expectError(try error([0, 0, 0x0A, 1, 0, 0, 0, 1]), .badHeader, "IDX data type 0x0A is not one of")
        expectError(try error([0, 0, 0x08, 0]), .badHeader, "declares 0 dimensions")
        expectError(try error([0, 0, 0x08, 2] + Encode.be32(1) + Encode.be32(0)), .badHeader, "IDX dimension 2 is 0")
        expectError(try error([0, 0, 0x08, 3] + Encode.be32(1) + Encode.be32(65536) + Encode.be32(65536)), .badHeader,
                    "more than 1073741824 values")
        expectError(try error([0, 0, 0x08, 3] + Encode.be32(1)), .truncated, "the IDX header is truncated: 8 of 16 bytes")
        expectError(try error([0, 0, 0x08]), .truncated, "3 of at least 4 bytes")
    }

    // MARK: NPY

    @Test(arguments: allChunkings) func npyDtypesAndVersions(chunking: MemorySource.Chunking) throws {
        let values: [Float] = [0.1, -0.0, .leastNonzeroMagnitude, 3.4028235e38, 1, 2]
        let expected = bits([Array(values[0..<3]), Array(values[3...])])
        for version: UInt8 in [1, 2, 3] {
            let file = Encode.npy(descr: "<f4", shape: [2, 3], data: Encode.f32(values), version: version)
            #expect(bits(try readAll(file, .auto, width: 3, chunking: chunking)) == expected, "v\(version)")
        }
        let f8 = Encode.npy(descr: "<f8", shape: [2, 3], data: Encode.f64(values.map(Double.init)))
        #expect(bits(try readAll(f8, .npy, width: 3, chunking: chunking)) == expected)
        let be = Encode.npy(descr: ">f4", shape: [2, 3], data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.bigEndian, Array.init) })
        #expect(bits(try readAll(be, .npy, width: 3, chunking: chunking)) == expected)
        let ints: [(String, [UInt8], [Float])] = [
            ("|u1", [0, 255], [0, 255]), ("|i1", [0x80, 0x7F], [-128, 127]),
            ("<i2", Encode.le([Int16.min, 300]), [-32768, 300]), ("<i4", Encode.le([Int32(-5), 1 << 24]), [-5, 16_777_216]),
            ("<i8", Encode.le([Int64(-7), 1 << 40]), [-7, 1_099_511_627_776]), ("<u2", Encode.le([UInt16.max, 1]), [65535, 1]),
            ("<u4", Encode.le([UInt32.max, 3]), [4_294_967_296, 3]), ("<u8", Encode.le([UInt64(9), 10]), [9, 10]),
            // binary16: 1.0 = 0x3C00, -2 = 0xC000, 65504 = 0x7BFF, smallest subnormal 2^-24 = 0x0001.
            ("<f2", Encode.le([UInt16(0x3C00), 0xC000]), [1, -2]), ("<f2", Encode.le([UInt16(0x7BFF), 0x0001]), [65504, 0x1p-24]),
        ]
        for (descr, data, want) in ints {
            let file = Encode.npy(descr: descr, shape: [1, 2], data: data)
            #expect(try readAll(file, .npy, width: 2, chunking: chunking) == [want], "\(descr)")
        }
    }

    @Test func npyShapes() throws {
        let data = Encode.f32((0..<8).map(Float.init))
        // 1-D (W,): one record.
        #expect(try readAll(Encode.npy(descr: "<f4", shape: [8], data: data), .npy, width: 8) == [(0..<8).map(Float.init)])
        // 1-D with width 1: a vector of scalars, one record each.
        #expect(try readAll(Encode.npy(descr: "<f4", shape: [8], data: data), .npy, width: 1).count == 8)
        // 3-D (n, 2, 2): records of 4.
        #expect(try readAll(Encode.npy(descr: "<f4", shape: [2, 2, 2], data: data), .npy, width: 4).count == 2)
        // Python 2 long suffixes.
        let py2 = Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 4L), }")
        #expect(try readAll(py2, .npy, width: 4).count == 2)
    }

    @Test(arguments: allChunkings) func npyCountIsAPromise(chunking: MemorySource.Chunking) throws {
        let file = Encode.npy(descr: "<f4", shape: [3, 2], data: Encode.f32([1, 2, 3, 4, 5, 6]))
        var d = try drain(Array(file.dropLast(4)), .npy, width: 2, chunking: chunking)
        #expect(d.records == [[1, 2], [3, 4]])
        expectError(d.error, .truncated, record: 3, "the NPY header declares 3 records, but it ends inside record 3 (4 of 8 bytes)")
        d = try drain(file + [0], .npy, width: 2, chunking: chunking)
        #expect(d.records.count == 3)
        expectError(d.error, .trailingData, record: 4, "NPY header declares 3 records, but data continues")
    }

    @Test func npyBadHeaders() throws {
        func error(_ bytes: [UInt8], width: Int = 2) throws -> RecordError? { try drain(bytes, .npy, width: width).error }
        let data = Encode.f32([1, 2])
        expectError(try error(Encode.npy(descr: "<f4", shape: [1, 2], data: data, fortran: true)), .unsupported, "Fortran order")
        expectError(try error(Encode.npy(descr: "<c8", shape: [1, 2], data: data)), .unsupported, "NPY dtype '<c8' is not supported")
        expectError(try error(Encode.npy(descr: "|f4", shape: [1, 2], data: data)), .badHeader, "has no byte order")
        expectError(try error(Encode.npy(descr: "<f4", shape: [1, 3], data: data)), .wrongWidth, "NPY records are 3 values; the model expects 2")
        expectError(try error(Encode.npy(descr: "<f4", shape: [1, 2, 3], data: data)), .wrongWidth, "NPY records are 2x3 = 6 values")
        expectError(try error(Encode.npy(descr: "<f4", shape: [1, 0], data: data)), .badHeader, "has a zero dimension")
        expectError(try error(Encode.npy(descr: "<f4", shape: [], data: data)), .badHeader, "shape ()")
        expectError(try error(Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")),
                    .unsupported, "structured dtypes")
        expectError(try error(Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': '<f4', 'shape': (1, 2), }")),
                    .badHeader, "no True/False 'fortran_order' key")
        expectError(try error(Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'x': 'y'}")),
                    .badHeader, "unexpected key 'x'")
        expectError(try error(Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': '<f4' 'fortran_order': False}")),
                    .badHeader, "malformed at byte 26: expected '}', found '''")
        expectError(try error(Encode.npy(descr: "", shape: [], data: data, dict: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999, 2), }")),
                    .badHeader, "too large")
        var v9 = Encode.npy(descr: "<f4", shape: [1, 2], data: data)
        v9[6] = 9
        expectError(try error(v9), .unsupported, "version 9")
        var huge = Encode.npy(descr: "<f4", shape: [1, 2], data: data, version: 2)
        huge[10] = 0xFF  // header length ~16 MiB
        expectError(try error(huge), .badHeader, "at most 1048576 bytes")
        expectError(try error(Array(Encode.npy(descr: "<f4", shape: [1, 2], data: data).prefix(40))), .truncated, "the NPY header is truncated: 40 of 128 bytes")
        expectError(try error(utf8("not numpy at all")), .badHeader, "not an NPY stream")
    }
}
