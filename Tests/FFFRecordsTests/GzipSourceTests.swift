import Testing
@testable import FFFRecords

@Suite struct GzipSourceTests {
    let text = utf8((0..<2000).map { "\($0),\(Float($0) / 7),-\($0)e-3\n" }.joined())
    var expected: [[Float]] { (0..<2000).map { [Float($0), Float("\(Float($0) / 7)")!, Float("-\($0)e-3")!] } }

    @Test(arguments: allChunkings) func decodesEveryChunking(chunking: MemorySource.Chunking) throws {
        #expect(try readAll(gzip(text), .csv, width: 3, chunking: chunking) == expected)
        #expect(try readAll(gzip(text, level: 0), .auto, width: 3, chunking: chunking) == expected)  // stored blocks
    }

    @Test func sourceAloneGivesTheBytes() throws {
        let source = try GzipSource(wrapping: MemorySource(gzip(text), chunking: .fixed(5)))
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 333)
        while true {
            let n = try chunk.withUnsafeMutableBytes { b in Result { () throws(RecordError) in try source.read(into: b) } }.get()
            if n == 0 { break }
            out += chunk[0..<n]
        }
        #expect(out == text)
    }

    @Test(arguments: allChunkings) func concatenatedMembers(chunking: MemorySource.Chunking) throws {
        let half = text.count / 2 + 3  // splits a line between members
        let joined = gzip(Array(text[..<half])) + gzip([]) + gzip(Array(text[half...]), level: 9)
        #expect(try readAll(joined, .csv, width: 3, chunking: chunking) == expected)
    }

    @Test func everyFormatIsRecognisedCompressed() throws {
        #expect(try readAll(gzip(Encode.f32([1, 2, 3, 4])), .f32, width: 2) == [[1, 2], [3, 4]])
        #expect(try readAll(gzip(Encode.f64([1, 2])), .f64, width: 2) == [[1, 2]])
        #expect(try readAll(gzip([9, 8]), .u8, width: 1) == [[9], [8]])
        #expect(try readAll(gzip(utf8("1\t2\n")), .tsv, width: 2) == [[1, 2]])
        #expect(try readAll(gzip(utf8("1 2\n")), .text, width: 2) == [[1, 2]])
        #expect(try readAll(gzip(Encode.idx(type: 0x08, dims: [1, 2], values: [3, 4])), .idx, width: 2) == [[3, 4]])
        #expect(try readAll(gzip(Encode.npy(descr: "<f4", shape: [2], data: Encode.f32([5, 6]))), .npy, width: 2) == [[5, 6]])
        let reader = try RecordReader(source: MemorySource(gzip(utf8("1\n"))), format: .auto, expectedWidth: 1)
        try reader.prepare()
        #expect(reader.isCompressed)
    }

    @Test(arguments: [MemorySource.Chunking.whole, .fixed(1), .random(seed: 8, maxChunk: 100)])
    func corruptionIsAnErrorWithItsOffset(chunking: MemorySource.Chunking) throws {
        // Member 1 is sound; member 2's first deflate block header (right after its 10-byte
        // gzip header) says block type 3, which does not exist.
        let first = gzip(utf8("1,2,3\n4,5,6\n"))
        var second = gzip(utf8("7,8,9\n"))
        second[10] = 0x07  // BFINAL 1, BTYPE 11
        let d = try drain(first + second, .csv, width: 3, chunking: chunking)
        #expect(d.records == [[1, 2, 3], [4, 5, 6]])
        expectError(d.error, .corruptCompression, record: 3, "the gzip data is corrupt at compressed byte", "invalid block type",
                    "(reading record 3)")
        let offset = try #require(d.error?.byteOffset)
        #expect((first.count + 10...first.count + 11).contains(offset), "offset \(offset); member 2 starts at \(first.count)")
    }

    /// Damage inside compressed data may decode to other bytes before zlib notices (at worst at
    /// the member's CRC-32): whatever it turns into, reading fails, and never crashes or hangs.
    @Test func damageAnywhereEndsInAnError() throws {
        let sound = gzip(text)
        for at in stride(from: 12, to: sound.count - 8, by: max(1, sound.count / 40)) {
            var bad = sound
            for i in at..<min(at + 4, sound.count - 8) { bad[i] ^= 0x5A }
            let d = try drain(bad, .csv, width: 3)
            #expect(d.error != nil, "damage at \(at) went unnoticed")
        }
    }

    @Test func badTrailerIsCorruption() throws {
        var bad = gzip(text)
        bad[bad.count - 6] ^= 1  // CRC-32
        let d = try drain(bad, .csv, width: 3)
        expectError(d.error, .corruptCompression, "incorrect data check")
        #expect(d.records.count == 2000, "all records precede the trailer")
    }

    @Test(arguments: [MemorySource.Chunking.whole, .fixed(1)])
    func truncationIsAnError(chunking: MemorySource.Chunking) throws {
        let cut = Array(gzip(text).dropLast(20))
        let d = try drain(cut, .csv, width: 3, chunking: chunking)
        expectError(d.error, .corruptCompression, "the gzip stream is truncated")
        #expect(d.error?.byteOffset == cut.count)
        #expect(d.records.count > 1900 && d.records == Array(expected.prefix(d.records.count)))
    }

    @Test func detectionNeedsTheWholeMagicAndCanBeTurnedOff() throws {
        // Raw bytes that merely start 1f 8b are records, not gzip.
        #expect(try readAll([0x1F, 0x8B, 0x07, 0x00], .u8, width: 2) == [[31, 139], [7, 0]])
        #expect(try readAll([0x1F, 0x8B, 0x08, 0xE0], .u8, width: 4) == [[31, 139, 8, 224]])
        #expect(try readAll([0x1F, 0x8B], .u8, width: 1) == [[31], [139]])
        // And with detection off, even a real gzip stream is raw bytes.
        let packed = gzip(utf8("1\n"))
        #expect(try readAll(packed, .u8, width: 1, options: .init(detectGzip: false)).map { UInt8($0[0]) } == packed)
        func recognises(_ b: [UInt8]) -> Bool? { b.withUnsafeBytes { GzipSource.recognises($0) } }
        #expect(recognises([0x1F, 0x8B, 0x08, 0x00]) == true && recognises([0x1F, 0x8B]) == nil && recognises([0x1F, 0x8C]) == false)
    }

    @Test func trailingGarbageIsAnError() throws {
        let d = try drain(gzip(utf8("1,2\n")) + utf8("garbage"), .csv, width: 2)
        #expect(d.records == [[1, 2]])
        expectError(d.error, .corruptCompression, "incorrect header check")
    }
}
