import Foundation
import FFFTestSupport
import Testing
@testable import FFFRecords

/// `RecordReader.nextRun`, `RunDecoder` and `commit`: the records of runs, read in any mix with
/// `next`, are those `next` alone gives, and whatever stops a run is left for `next` to report
/// as it always does. Also `InflateThread` against `GzipSource`.
@Suite struct RecordRunTests {
    /// Reads `reader` to its end or its first error, taking a run whenever `nextRun` gives one
    /// (`take` puts its first records at `out` and returns how many, and how many of its bytes,
    /// to commit) and `next` otherwise.
    private func drainTakingRuns(_ reader: RecordReader, width: Int, out: UnsafeMutablePointer<Float>,
                       nextRun: () throws(RecordError) -> RecordReader.Run?,
                       take: (RecordReader.Run) -> (records: Int, bytes: Int)) -> Drained {
        var result = Drained()
        do {
            while true {
                if let run = try nextRun() {
                    let (records, used) = take(run)
                    for r in 0..<records { result.records.append(Array(UnsafeBufferPointer(start: out + r * width, count: width))) }
                    reader.commit(records: records, bytes: used)
                    #expect(reader.recordsRead == result.records.count)
                    if records > 0 { continue }
                }
                guard let record = try reader.next() else { break }
                result.records.append(record)
            }
        } catch {
            result.error = error
            #expect(reader.recordsRead == result.records.count)
        }
        return result
    }

    /// Reads `bytes` taking runs whenever the reader offers one (parts of `parts`, each part
    /// parsed into at most `capacity` records), and `next` otherwise.
    private func drainRuns(_ bytes: [UInt8], _ format: RecordFormat, width: Int, chunking: MemorySource.Chunking,
                           parts: Int = 3, capacity: Int = 5, target: Int = 64,
                           options: RecordReaderOptions = RecordReaderOptions()) throws -> Drained {
        let reader = try RecordReader(source: MemorySource(bytes, chunking: chunking), format: format,
                                      expectedWidth: width, options: options)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: width * capacity * parts)
        defer { out.deallocate() }
        return drainTakingRuns(reader, width: width, out: out,
                     nextRun: { () throws(RecordError) in try reader.nextRun(maxRecords: capacity * parts, targetBytes: target, mayRead: { true }) },
                     take: { run in
            let decoder = reader.runDecoder
            var records = 0, used = 0
            if run.isText {
                for part in decoder.split(run.bytes, parts: parts) {
                    let (n, b) = decoder.parseLines(UnsafeRawBufferPointer(rebasing: run.bytes[part]),
                                                    into: out + records * width, capacity: capacity)
                    records += n
                    used += b
                    if b < part.count { break }
                }
            } else {
                records = decoder.decode(run, records: 0..<run.count, into: out)
                used = records * run.recordBytes
            }
            return (records, used)
        })
    }

    private func expectSame(_ bytes: [UInt8], _ format: RecordFormat, width: Int,
                            options: RecordReaderOptions = RecordReaderOptions(),
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        for chunking in allChunkings {
            let plain = try drain(bytes, format, width: width, chunking: chunking, options: options)
            for (parts, capacity, target) in [(1, 1, 1), (2, 3, 40), (3, 5, 64), (4, 100, 1 << 20)] {
                let runs = try drainRuns(bytes, format, width: width, chunking: chunking, parts: parts,
                                         capacity: capacity, target: target, options: options)
                #expect(bits(runs.records) == bits(plain.records), "\(chunking) \(parts)", sourceLocation: sourceLocation)
                #expect(runs.error == plain.error, "\(chunking) \(parts)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func textRunsGiveTheRecordsAndErrorsOfNext() throws {
        let lines = (0..<60).map { "\($0),\(Float($0) / 3),-\($0)e-2" }
        try expectSame(utf8(lines.joined(separator: "\n") + "\n"), .csv, width: 3)
        try expectSame(utf8("a,b,c\r\n" + lines.joined(separator: "\r\n")), .auto, width: 3)  // no final line end
        var withComments = lines
        withComments.insert("# comment", at: 17)
        withComments.insert("   ", at: 40)  // a blank line before records: an error
        try expectSame(utf8(withComments.joined(separator: "\n") + "\n"), .csv, width: 3)
        var bad = lines
        bad[33] = "1,2,nan"
        try expectSame(utf8(bad.joined(separator: "\n") + "\n"), .csv, width: 3)
        bad[33] = "1,2"
        try expectSame(utf8(bad.joined(separator: "\n") + "\n"), .csv, width: 3)
        bad[33] = "1,2," + String(repeating: "9", count: 300)  // longer than the line cap
        try expectSame(utf8(bad.joined(separator: "\n") + "\n"), .csv, width: 3,
                       options: RecordReaderOptions(maxLineBytes: 200))
        try expectSame(utf8(lines.joined(separator: "\n") + "\n\n\n"), .csv, width: 3)  // trailing blanks
        try expectSame(utf8(lines.map { $0.replacingOccurrences(",", "\t") }.joined(separator: "\n") + "\n"), .tsv, width: 3)
        try expectSame(utf8(lines.map { $0.replacingOccurrences(",", "  ") }.joined(separator: "\n") + "\n"), .text, width: 3)
    }

    @Test func binaryRunsGiveTheRecordsAndErrorsOfNext() throws {
        let values = (0..<300).map { Float($0 % 256) }
        try expectSame(values.map { UInt8($0) }, .u8, width: 6)
        try expectSame(values.map { UInt8($0) } + [1, 2], .u8, width: 6)  // truncated last record
        try expectSame(Encode.idx(type: 0x08, dims: [50, 6], values: values), .auto, width: 6)
        try expectSame(Encode.idx(type: 0x08, dims: [40, 6], values: values), .auto, width: 6)  // data after
        var floats = values
        floats[200] = .infinity
        let f32 = floats.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        try expectSame(f32, .f32, width: 6)
        try expectSame(f32, .f32, width: 6, options: RecordReaderOptions(allowNonFinite: true))
    }

    /// Runs of a regular file handed out unread (`readsRunsInParts`), each part filled and
    /// decoded on its own (in any order), and the commit stopping after any part: the records
    /// and the error are those of `next` alone, and `next` after a short commit goes on from
    /// there. Also a file cut short after a run was handed out (its last part comes back short).
    @Test func runsOfAFileReadInPartsGiveTheRecordsOfNext() throws {
        // Files larger than the reader's 4 KiB buffer, so that runs reach past the bytes at hand.
        let values = (0..<12_000).map { Float($0 % 251) }
        var f32Values = values
        f32Values[7_371] = .nan
        let f32 = f32Values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        let cases: [([UInt8], RecordFormat)] = [
            (values.map { UInt8($0) }, .u8),
            (values.map { UInt8($0) } + [1, 2], .u8),  // a truncated last record
            (Encode.idx(type: 0x08, dims: [2000, 6], values: values), .auto),
            (Encode.idx(type: 0x08, dims: [2100, 6], values: values), .auto),  // declares more than it holds
            (f32, .f32),  // a NaN: the decode stops there
        ]
        var state: UInt64 = 99
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        for (bytes, format) in cases {
            let plain = try drain(bytes, format, width: 6)
            for trial in 0..<12 {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("fffrecords-\(UUID().uuidString)").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                defer { try? FileManager.default.removeItem(atPath: path) }
                let reader = try RecordReader(source: FileDescriptorSource(path: path), format: format, expectedWidth: 6,
                                              options: RecordReaderOptions(bufferSize: 4096))
                reader.readsRunsInParts = true
                let cutAfterFirstRun = trial == 11
                let out = UnsafeMutablePointer<Float>.allocate(capacity: 6 * 200)
                defer { out.deallocate() }
                var runs = 0
                let result = drainTakingRuns(reader, width: 6, out: out,
                                   nextRun: { () throws(RecordError) in try reader.nextRun(maxRecords: 1 + next(199), targetBytes: 64, mayRead: { true }) },
                                   take: { run in
                    runs += 1
                    let decoder = reader.runDecoder
                    if cutAfterFirstRun && runs == 1 { truncate(path, off_t(bytes.count / 2)) }
                    let parts = 1 + next(4)
                    let bounds = (0...parts).map { $0 * run.count / parts }
                    // Fill the parts in a random order, as threads would.
                    var ready = [Int](repeating: 0, count: parts)
                    var rng = SplitMix64(seed: state)
                    for part in (0..<parts).shuffled(using: &rng) {
                        ready[part] = run.fill(records: bounds[part] ..< bounds[part + 1])
                    }
                    var records = 0
                    for part in 0..<parts {
                        let got = decoder.decode(run, records: bounds[part] ..< bounds[part] + ready[part],
                                                 into: out + bounds[part] * 6)
                        records += got
                        if got < bounds[part + 1] - bounds[part] { break }
                    }
                    // Sometimes the consumer stops early by itself.
                    if records > 0 && next(4) == 0 { records = next(records) }
                    return (records, records * run.recordBytes)
                })
                if cutAfterFirstRun {
                    // Whatever was read before the cut is the file's; then the cut file's end.
                    let cut = try drain(Array(bytes.prefix(bytes.count / 2)), format, width: 6)
                    #expect(bits(Array(result.records.prefix(cut.records.count))) == bits(cut.records), "\(format) cut")
                    #expect(result.records.count >= cut.records.count, "\(format) cut")
                } else {
                    #expect(bits(result.records) == bits(plain.records), "\(format) trial \(trial)")
                    #expect(result.error == plain.error, "\(format) trial \(trial)")
                }
            }
        }
    }

    /// Text runs of a regular file handed out unread (`readsRunsInParts`): pieces filled in any
    /// order (as threads would), the run cut to the whole lines read, split into parts, parsed:
    /// the records and the error are those of `next` alone, also where a run holds no line end
    /// (a line longer than the run, the last line without one) and when the file is cut short
    /// after a run was handed out.
    @Test func textRunsOfAFileReadInPartsGiveTheRecordsOfNext() throws {
        // Files larger than the reader's 4 KiB buffer, so that runs reach past the bytes at hand.
        let lines = (0..<900).map { "\($0),\(Float($0) / 3),-\($0)e-2" }
        var withComments = lines
        withComments.insert("# comment", at: 170)
        withComments.insert("   ", at: 640)  // a blank line before records: an error
        var bad = lines
        bad[533] = "1,2,x"
        var long = lines
        long[300] = "1,2," + String(repeating: "9", count: 2500)  // longer than most runs
        var overlong = lines
        overlong[700] = "1,2," + String(repeating: "9", count: 300)  // longer than the line cap
        let cases: [(String, RecordReaderOptions)] = [
            (lines.joined(separator: "\n") + "\n", RecordReaderOptions()),
            ("a,b,c\r\n" + lines.joined(separator: "\r\n"), RecordReaderOptions()),  // no final line end
            (withComments.joined(separator: "\n") + "\n", RecordReaderOptions()),
            (bad.joined(separator: "\n") + "\n", RecordReaderOptions()),
            (long.joined(separator: "\n") + "\n\n\n", RecordReaderOptions()),  // trailing blanks
            (overlong.joined(separator: "\n") + "\n", RecordReaderOptions(maxLineBytes: 200)),
        ]
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        for (caseNumber, (text, caseOptions)) in cases.enumerated() {
            let bytes = utf8(text)
            var options = caseOptions
            options.bufferSize = 4096
            let plain = try drain(bytes, .csv, width: 3, options: caseOptions)
            for trial in 0..<12 {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("fffrecords-\(UUID().uuidString)").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                defer { try? FileManager.default.removeItem(atPath: path) }
                let reader = try RecordReader(source: FileDescriptorSource(path: path), format: .csv, expectedWidth: 3,
                                              options: options)
                reader.readsRunsInParts = true
                // The last trials cut the file in the middle of the unread bytes of the first run
                // that has some, after it was handed out.
                let cutsTheFile = trial >= 10
                var cutAt: Int?
                let capacity = 1 + next(40), parts = 1 + next(4)
                let out = UnsafeMutablePointer<Float>.allocate(capacity: 3 * capacity * parts)
                defer { out.deallocate() }
                var unread = 0
                let result = drainTakingRuns(reader, width: 3, out: out,
                                   nextRun: { () throws(RecordError) in try reader.nextRun(maxRecords: 1000, targetBytes: 40 + next(3000), mayRead: { true }) },
                                   take: { handed in
                    var run = handed
                    if cutsTheFile && cutAt == nil && run.hasUnreadBytes {
                        cutAt = run.fileOffset + (run.bytes.count - run.unreadFrom) / 2
                        truncate(path, off_t(cutAt!))
                    }
                    if run.hasUnreadBytes {
                        unread += 1
                        // Lines of a wrong record where the bytes are not read yet: a piece
                        // read short must not leave them in the run.
                        let poison = UnsafeMutableRawBufferPointer(mutating: run.bytes)
                        for i in run.unreadFrom ..< run.bytes.count { poison[i] = Array("7,7,7\n".utf8)[i % 6] }
                        let pieces = 1 + next(4)
                        var filledTo = [Int](repeating: 0, count: pieces)
                        var rng = SplitMix64(seed: state)
                        for k in (0..<pieces).shuffled(using: &rng) {
                            let piece = run.piece(k, of: pieces)
                            filledTo[k] = piece.lowerBound + run.fill(bytes: piece)
                        }
                        run = filledTo.withUnsafeBufferPointer { run.wholeLines(readTo: $0) }
                        if let cutAt {  // nothing of the run lies beyond the end of the file
                            #expect(run.bytes.count <= handed.unreadFrom + max(0, cutAt - handed.fileOffset))
                        }
                        #expect(run.bytes.isEmpty || run.bytes[run.bytes.count - 1] == 0x0A)
                        #expect(!run.hasUnreadBytes)
                    }
                    let decoder = reader.runDecoder
                    var records = 0, used = 0
                    for part in decoder.split(run.bytes, parts: parts) {
                        let (n, b) = decoder.parseLines(UnsafeRawBufferPointer(rebasing: run.bytes[part]),
                                                        into: out + records * 3, capacity: capacity)
                        records += n
                        used += b
                        if b < part.count { break }
                    }
                    return (records, used)
                })
                if let cutAt {
                    // Every byte read before the cut lies before it: what the cut file holds.
                    let cut = try drain(Array(bytes.prefix(cutAt)), .csv, width: 3, options: caseOptions)
                    let asTheCutFile = bits(result.records) == bits(cut.records)
                    #expect(asTheCutFile, "case \(caseNumber) cut at \(cutAt)")
                    #expect(result.error == cut.error, "case \(caseNumber) cut at \(cutAt)")
                } else {
                    #expect(bits(result.records) == bits(plain.records), "case \(caseNumber) trial \(trial)")
                    #expect(result.error == plain.error, "case \(caseNumber) trial \(trial)")
                }
                #expect(unread > 0, "case \(caseNumber) trial \(trial): no run was read in parts")
            }
        }
    }

    @Test func splitEndsEveryPartAtALineEnd() {
        let text = utf8((0..<40).map { String(repeating: "7", count: $0 % 9) + "\n" }.joined())
        let decoder = RecordReader.RunDecoder(width: 1, element: .u8, recordBytes: 0, separator: .comma,
                                              allowNonFinite: false, maxLineBytes: 100)
        text.withUnsafeBytes { bytes in
            for parts in 1...7 {
                let ranges = decoder.split(bytes, parts: parts)
                #expect(ranges.count == parts)
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == bytes.count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                for r in ranges where !r.isEmpty { #expect(bytes[r.upperBound - 1] == 0x0A) }
            }
            // Pieces in given proportions: each ends at the first line end at or after its share.
            for ends in [[1, 3], [2, 3], [100, 1000, 1337], [0, 5, 5, 9]] {
                let total = ends.last!
                let ranges = decoder.split(bytes, at: ends, of: total)
                #expect(ranges.count == ends.count)
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == bytes.count)
                for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                for (k, r) in ranges.enumerated().dropLast() where !r.isEmpty {
                    let target = bytes.count * ends[k] / total
                    #expect(bytes[r.upperBound - 1] == 0x0A)
                    let from = max(target - 1, r.lowerBound)  // the line end at or after the share
                    #expect(r.upperBound >= target && !bytes[from ..< r.upperBound - 1].contains(0x0A), "\(ends) piece \(k)")
                }
            }
        }
    }

    /// A read error after whole records: the run hands them out first, and the error then
    /// names the record `next` would name.
    @Test func readErrorAfterWholeRecordsComesWhereNextMeetsIt() throws {
        let text = utf8((0..<30).map { "\($0),\($0)\n" }.joined())
        for cut in [1, 50, 77, 100, 140] {
            let gz = Array(gzip(text).prefix(max(20, gzip(text).count * cut / 150)))
            let plain = try drain(gz, .csv, width: 2, chunking: .fixed(7))
            let runs = try drainRuns(gz, .csv, width: 2, chunking: .fixed(7), parts: 2, capacity: 4, target: 30)
            #expect(runs.records == plain.records)
            #expect(runs.error == plain.error)
            #expect(plain.error != nil)
        }
    }

    @Test(arguments: [1, 3, 4096, 70_000]) func inflateThreadGivesTheBytesAndErrorsOfGzipSource(readSize: Int) throws {
        var state: UInt64 = 7
        let data: [UInt8] = (0..<300_000).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return i % 7 == 0 ? UInt8(state >> 59) : UInt8(ascii: "0") + UInt8(i % 10)
        }
        let compressed = gzip(data)
        for input in [compressed, Array(compressed.prefix(compressed.count / 2)), Array(compressed.prefix(9))] {
            func drainSource(_ source: any ByteSource) -> ([UInt8], RecordError?) {
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
            let direct = drainSource(try GzipSource(wrapping: MemorySource(input, chunking: .fixed(5000))))
            let threaded = drainSource(InflateThread(source: try GzipSource(wrapping: MemorySource(input, chunking: .fixed(5000))),
                                                     chunks: 3, chunkBytes: 4096))
            #expect(threaded.0 == direct.0)
            #expect(threaded.1 == direct.1)
        }
        // Released before the end: the thread stops.
        _ = InflateThread(source: try GzipSource(wrapping: MemorySource(compressed)), chunks: 2, chunkBytes: 4096)
    }
}

private extension String {
    func replacingOccurrences(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
