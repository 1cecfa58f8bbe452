import Testing
@testable import FFFRecords

/// CSV, TSV and whitespace text through `RecordReader`, every case under every chunking.
@Suite struct RecordReaderTextTests {
    @Test(arguments: allChunkings) func formats(chunking: MemorySource.Chunking) throws {
        let expected: [[Float]] = [[1, -2.5, 0.1], [.leastNonzeroMagnitude, -0.0, 3.4028235e38]]
        #expect(bits(try readAll(utf8("1,-2.5,0.1\n1e-45,-0.0,3.4028235e38\n"), .csv, width: 3, chunking: chunking)) == bits(expected))
        #expect(bits(try readAll(utf8("1\t-2.5\t0.1\r\n1e-45\t-0.0\t3.4028235e38"), .tsv, width: 3, chunking: chunking)) == bits(expected))
        #expect(bits(try readAll(utf8("1 -2.5, 0.1\n\t1e-45   -0.0 3.4028235e38  \n"), .text, width: 3, chunking: chunking)) == bits(expected))
        #expect(bits(try readAll(utf8(" 1 , -2.5 , 0.1 \r\n1e-45,-0.0,3.4028235e38\r\n"), .auto, width: 3, chunking: chunking)) == bits(expected))
    }

    @Test func autoPicksTheSeparatorFromTheFirstLine() throws {
        for (text, format) in [("1,2\n", RecordFormat.csv), ("1\t2\n", .tsv), ("1 2\n", .text), ("x;y\n1 2\n", .text)] {
            let reader = try RecordReader(source: MemorySource(utf8(text)), format: .auto, expectedWidth: 2)
            #expect(try reader.next() == [1, 2])
            #expect(reader.format == format, "\(text)")
        }
    }

    @Test(arguments: allChunkings) func headersCommentsBlankLinesAndBOM(chunking: MemorySource.Chunking) throws {
        let text = "\u{FEFF}# exported\nx0,x1\n\n# more\n1,2\n3,4\n\n \r\n\n"
        // Leading blank line before the first record is an empty record; here the blank line
        // sits between the header and record 1.
        let d = try drain(utf8(text), .csv, width: 2, chunking: chunking)
        expectError(d.error, .emptyRecord, record: 1, "record 1 (line 3) is empty")
        #expect(try readAll(utf8("\u{FEFF}# exported\nx0,x1\n# more\n1,2\n3,4\n\n \r\n\n"), .csv, width: 2, chunking: chunking)
                == [[1, 2], [3, 4]])
    }

    @Test func headerPolicies() throws {
        #expect(try readAll(utf8("0,1\n5,6\n"), .csv, width: 2, options: .init(header: .skip)) == [[5, 6]])
        #expect(try readAll(utf8("0,1\n5,6\n"), .csv, width: 2) == [[0, 1], [5, 6]])
        // From 8 values on, a first line that numbers the columns (pandas' to_csv) is a
        // header, reported as a notice; from 0 or 1, after an empty field (the row index) too.
        let eight = (0..<8).map { Float($0 * 3) }
        for header in ["0,1,2,3,4,5,6,7", "1,2,3,4,5,6,7,8", " 0\t1\t2\t3\t4\t5\t6\t7", ",0,1,2,3,4,5,6,7", "0 1 2 3 4 5 6 7"] {
            let separator = header.contains("\t") ? "\t" : header.contains(",") ? "," : " "
            let indexed = header.hasPrefix(",") ? "0," : ""
            let text = header + "\n" + indexed + eight.map { String(Int($0)) }.joined(separator: separator) + "\n"
            let reader = try RecordReader(source: MemorySource(utf8(text)), format: .auto, expectedWidth: 8)
            if !indexed.isEmpty {
                expectError(try drain(utf8(text), .auto, width: 8).error, .wrongWidth, record: 1,
                            "record 1 (line 2) has 9 values; the model expects 8 (its first column is a row index")
                continue
            }
            #expect(try reader.next() == eight, "\(header)")
            #expect(reader.notices.count == 1 && reader.notices[0].contains("numbers the columns"), "\(header)")
        }
        for record in ["0,1,2,3,4,5,6,8", "0,1,2,3,4,5,6", "2,3,4,5,6,7,8,9", "0,1,2,3,4,5,6,7.0", "+0,1,2,3,4,5,6,7"] {
            let width = record.split(separator: ",").count
            let reader = try RecordReader(source: MemorySource(utf8(record + "\n")), format: .csv, expectedWidth: width)
            #expect(try reader.next()?.count == width && reader.notices.isEmpty, "\(record)")
        }
        let none = try RecordReader(source: MemorySource(utf8("0,1,2,3,4,5,6,7\n")), format: .csv, expectedWidth: 8,
                                    options: .init(header: .none))
        #expect(try none.next() == (0..<8).map(Float.init) && none.notices.isEmpty)
        expectError(try drain(utf8("x,y\n5,6\n"), .csv, width: 2, options: .init(header: .none)).error,
                    .notANumber, record: 1, column: 1, "record 1, column 1: 'x' is not a number")
        // Only the first line can be a header.
        let d = try drain(utf8("x,y\n5,6\nx,y\n"), .csv, width: 2)
        #expect(d.records == [[5, 6]])
        expectError(d.error, .notANumber, record: 2, column: 1, "record 2 (line 3), column 1: 'x' is not a number")
        // A first line with a number in it is data, with a bad token.
        expectError(try drain(utf8("1,abc\n"), .csv, width: 2).error, .notANumber, record: 1, column: 2,
                    "record 1, column 2: 'abc' is not a number")
        // A header alone is an empty data set.
        #expect(try readAll(utf8("a,b\n"), .csv, width: 2) == [])
    }

    @Test func emptyInput() throws {
        for format in RecordFormat.allCases {
            let reader = try RecordReader(source: MemorySource([]), format: format, expectedWidth: 3)
            #expect(try reader.next() == nil, "\(format)")
            #expect(reader.recordsRead == 0)
        }
        #expect(try readAll(gzip([]), .csv, width: 3) == [])
        #expect(try readAll(utf8("\n\n  \n"), .csv, width: 3) == [])
    }

    @Test(arguments: allChunkings) func errorsComeAfterTheWholeRecordsBeforeThem(chunking: MemorySource.Chunking) throws {
        func check(_ text: String, _ format: RecordFormat = .csv, width: Int = 4, good: Int, _ kind: RecordError.Kind,
                   record: Int, column: Int? = nil, _ fragments: String..., options: RecordReaderOptions = .init(),
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            let d = try drain(utf8(text), format, width: width, chunking: chunking, options: options)
            #expect(d.records.count == good, "\(d.records)", sourceLocation: sourceLocation)
            expectError(d.error, kind, record: record, column: column, sourceLocation: sourceLocation)
            for f in fragments {
                #expect(d.error?.message.contains(f) == true, "'\(d.error?.message ?? "")' lacks '\(f)'", sourceLocation: sourceLocation)
            }
        }
        try check("1,2,3,4\n1,2,3,4\n1,2,3,4,5\n", good: 2, .wrongWidth, record: 3, "record 3 has 5 values; the model expects 4")
        try check("1,2,3,4\n1,2,3\n", good: 1, .wrongWidth, record: 2, "record 2 has 3 values; the model expects 4")
        try check("1 2 3 4\n\n1 2 3 4\n", .text, good: 1, .emptyRecord, record: 2, "record 2 is empty")
        try check("1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,abc,3,4\n", good: 4, .notANumber, record: 5, column: 2,
                  "record 5, column 2: 'abc' is not a number")
        try check("1,2,,4\n", good: 0, .notANumber, record: 1, column: 3, "column 3: the field is empty")
        try check("1,2,3,4\n1,nan,3,4\n", good: 1, .nonFinite, record: 2, column: 2, "'nan' is not finite")
        try check("1\t2\t3\t-Infinity\n", .tsv, good: 0, .nonFinite, record: 1, column: 4, "'-Infinity' is not finite")
        try check("1 2 3 1e39\n", .text, good: 0, .nonFinite, record: 1, column: 4, "'1e39' is beyond the Float range")
        try check("1,2,3,4\n1,2,\u{0}3,4\n", good: 1, .nulByte, record: 2, column: 3, "NUL byte")
        try check("1,2,3,4\n1,2,3,caf\u{E9}\n", good: 1, .notANumber, record: 2, column: 4, "'caf\u{E9}' is not a number")
        try check("# a comment\n1,2,3,4\n5,6,7\n", good: 1, .wrongWidth, record: 2, "record 2 (line 3) has 3 values")
        let d = try drain(utf8("1,2,3,4\n1,2,3,") + [0xFF, 0xFE] + utf8("\n"), .csv, width: 4, chunking: chunking)
        #expect(d.records.count == 1)
        expectError(d.error, .invalidUTF8, record: 2, column: 4, "invalid UTF-8 at byte 14")
        #expect(d.error?.byteOffset == 14)
    }

    @Test func nonFiniteAllowed() throws {
        let records = try readAll(utf8("nan,-inf,INFINITY,1e39\n"), .csv, width: 4, options: .init(allowNonFinite: true))
        #expect(records.count == 1)
        #expect(records[0][0].isNaN && records[0][1] == -.infinity && records[0][2] == .infinity && records[0][3] == .infinity)
    }

    @Test func binaryDataReadAsTextFailsClearly() throws {
        let d = try drain(Encode.f32([1, 2, 3, 4]), .auto, width: 4)
        #expect(d.records.isEmpty)
        #expect(d.error?.kind == .nulByte || d.error?.kind == .invalidUTF8, "\(String(describing: d.error))")
        #expect(d.error?.recordNumber == 1)
        #expect(d.error?.message.contains("binary input?") == true)
    }

    @Test(arguments: [MemorySource.Chunking.whole, .fixed(1), .random(seed: 5, maxChunk: 999)])
    func longLinesAreCappedWithoutUnboundedBuffering(chunking: MemorySource.Chunking) throws {
        // Default cap for width 2: 2 * 64 + 4096 = 4224 bytes.
        let line = String(repeating: "1 ", count: 2200)  // 4400 bytes
        let d = try drain(utf8("1 2\n" + line + "\n1 2\n"), .text, width: 2, chunking: chunking)
        #expect(d.records == [[1, 2]])
        expectError(d.error, .lineTooLong, record: 2, "record 2 is longer than 4224 bytes")
        // A custom cap; a line that fits is fine, one byte more is not.
        let ok = String(repeating: "0", count: 99) + "1"
        #expect(try readAll(utf8(ok + "\n"), .text, width: 1, chunking: chunking, options: .init(maxLineBytes: 100)) == [[1]])
        expectError(try drain(utf8(ok + "0\n"), .text, width: 1, chunking: chunking, options: .init(maxLineBytes: 100)).error,
                    .lineTooLong, record: 1)
        // Lines longer than the read buffer (4096 bytes at least) but within the cap grow it.
        let wide = (0..<3000).map { _ in "0.125" }.joined(separator: ",")
        let records = try readAll(utf8(wide + "\n" + wide), .csv, width: 3000, chunking: chunking, options: .init(bufferSize: 4096))
        #expect(records.count == 2 && records.allSatisfy { $0 == [Float](repeating: 0.125, count: 3000) })
    }

    @Test func endlessLineStopsAtTheCap() throws {
        /// An endless stream of '7's with no newline.
        final class Endless: ByteSource {
            var produced = 0
            func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
                buffer.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "7"))
                produced += buffer.count
                return buffer.count
            }
        }
        let source = Endless()
        let reader = try RecordReader(source: source, format: .csv, expectedWidth: 10)
        #expect(throws: RecordError.self) { try reader.next() }
        #expect(source.produced < 4 << 20, "read \(source.produced) bytes before giving up")
        #expect(reader.buffer.capacity <= 1 << 20)
    }

    @Test func invalidWidthIsAnError() {
        #expect(throws: RecordError.self) { try RecordReader(source: MemorySource([]), format: .csv, expectedWidth: 0) }
        #expect(throws: RecordError.self) {
            try RecordReader(source: MemorySource([]), format: .csv, expectedWidth: 2, options: .init(maxLineBytes: 0))
        }
    }

    @Test func sourceErrorsComeAfterTheRecordsBeforeThem() throws {
        /// Gives its bytes, then fails.
        final class Failing: ByteSource {
            let bytes: [UInt8]
            var done = false
            init(_ b: [UInt8]) { bytes = b }
            func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
                if done { throw RecordError(.io, "disk on fire", byteOffset: bytes.count) }
                done = true
                buffer.copyBytes(from: bytes)
                return bytes.count
            }
        }
        let reader = try RecordReader(source: Failing(utf8("1,2\n3,4\n5,")), format: .csv, expectedWidth: 2)
        #expect(try reader.next() == [1, 2])
        #expect(try reader.next() == [3, 4])
        #expect(throws: RecordError(.io, "disk on fire (reading record 3)", recordNumber: 3, byteOffset: 10)) { try reader.next() }
    }

    @Test func streamingDoesNotWaitForMoreThanItNeeds() throws {
        /// Serves one record, then fails if asked for more: a producer awaiting the answer.
        final class OneShot: ByteSource {
            var calls = 0
            func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
                calls += 1
                if calls > 1 { throw RecordError(.io, "read past the first record") }
                let line = utf8("7\n")
                buffer.copyBytes(from: line)
                return line.count
            }
        }
        let reader = try RecordReader(source: OneShot(), format: .auto, expectedWidth: 1)
        #expect(try reader.next() == [7])
    }
}
