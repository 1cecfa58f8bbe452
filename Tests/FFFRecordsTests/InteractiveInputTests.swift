import Foundation
import Testing
import CZlib
@testable import FFFRecords

/// What an interactive producer (one record written, then a wait for its answer) needs from the
/// record layer: a reader returns record k from the bytes of records 1...k alone, never asking
/// its source for more first; and a ``FileDescriptorSource`` tells its ``InputIdleHandler``
/// before a read that would block, and only then.
@Suite struct InteractiveInputTests {
    /// Hands out the chunks released so far, one per read; a read with nothing released is what
    /// would block on a pipe, and is counted (and answered as the end of input).
    final class ReleasedChunks: ByteSource {
        var released: [[UInt8]] = []
        var blockingReads = 0
        var ended = false

        func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
            if released.isEmpty {
                if !ended { blockingReads += 1 }
                return 0
            }
            var chunk = released.removeFirst()
            let n = min(chunk.count, buffer.count)
            buffer.copyBytes(from: chunk[0..<n])
            if n < chunk.count {
                chunk.removeFirst(n)
                released.insert(chunk, at: 0)
            }
            return n
        }
    }

    static let records: [[Float]] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]

    /// One way of writing the three records: the bytes of each (the first with any header).
    struct Producer: Sendable, CustomTestStringConvertible {
        let name: String
        let format: RecordFormat
        let chunks: [[UInt8]]
        var testDescription: String { name }
    }

    static let producers: [Producer] = {
        let r = records
        let text = { (sep: String) in r.map { Encode.text([$0], separator: sep) } }
        let u8 = r.map { $0.map { UInt8($0) } }
        let idxHeader = Encode.idx(type: 0x08, dims: [3, 3], values: [])
        let npyHeader = Encode.npy(descr: "<f4", shape: [3, 3], data: [])
        return [
            Producer(name: "csv", format: .csv, chunks: text(",")),
            Producer(name: "tsv", format: .tsv, chunks: text("\t")),
            Producer(name: "text", format: .text, chunks: text(" ")),
            Producer(name: "auto (csv)", format: .auto, chunks: text(",")),
            Producer(name: "auto (csv) with a header and a comment", format: .auto,
                     chunks: [utf8("a,b,c\n") + text(",")[0], utf8("# note\n") + text(",")[1], text(",")[2]]),
            Producer(name: "f32", format: .f32, chunks: r.map { Encode.f32($0) }),
            Producer(name: "f64", format: .f64, chunks: r.map { Encode.f64($0.map(Double.init)) }),
            Producer(name: "u8", format: .u8, chunks: u8),
            Producer(name: "idx", format: .idx, chunks: [idxHeader + u8[0], u8[1], u8[2]]),
            Producer(name: "auto (idx)", format: .auto, chunks: [idxHeader + u8[0], u8[1], u8[2]]),
            Producer(name: "npy", format: .npy, chunks: [npyHeader + Encode.f32(r[0]), Encode.f32(r[1]), Encode.f32(r[2])]),
            Producer(name: "auto (npy)", format: .auto,
                     chunks: [npyHeader + Encode.f32(r[0]), Encode.f32(r[1]), Encode.f32(r[2])]),
        ]
    }()

    /// Record k comes back as soon as chunk k is there; plain and gzip (each chunk compressed
    /// and sync-flushed, as an interactive producer must).
    @Test(arguments: producers, [false, true])
    func eachRecordIsReturnedFromItsOwnBytes(producer: Producer, compressed: Bool) throws {
        let source = ReleasedChunks()
        let reader = try RecordReader(source: source, format: producer.format, expectedWidth: 3)
        var chunks = producer.chunks
        var trailer: [UInt8] = []
        if compressed { (chunks, trailer) = syncFlushedGzip(chunks) }
        for (k, chunk) in chunks.enumerated() {
            source.released.append(chunk)
            #expect(try reader.next() == Self.records[k], "record \(k + 1)")
            #expect(source.blockingReads == 0, "record \(k + 1) waited for bytes after it")
        }
        source.released.append(trailer)
        source.ended = true
        #expect(try reader.next() == nil)
        if compressed { #expect(reader.isCompressed) }
    }

    /// zlib can hold output for input it has consumed (its output buffer was full): the gzip
    /// source hands out every byte decodable from the compressed bytes at hand before it asks
    /// its own source for more, wherever the producer's write was cut.
    @Test func gzipHandsOutEverythingDecodableBeforeReadingMore() throws {
        let line = utf8(String(repeating: "0,", count: 3000) + "1\n" + String(repeating: "7,", count: 500))
        let compressed = syncFlushedGzip([line]).chunks[0]
        for cut in 1...compressed.count {
            let prefix = Array(compressed[..<cut])
            let expected = inflatedLength(prefix)
            let inner = ReleasedChunks()
            inner.released = [prefix]
            let gzip = try GzipSource(wrapping: inner)
            var produced = 0
            var piece = [UInt8](repeating: 0, count: 7)
            while produced < expected && inner.blockingReads == 0 {
                let n = try piece.withUnsafeMutableBytes { b in Result { () throws(RecordError) in try gzip.read(into: b) } }.get()
                #expect(Array(piece[0..<n]) == Array(line[produced..<produced + n]))
                produced += n
            }
            #expect(produced == expected, "\(cut) of \(compressed.count) compressed bytes at hand decode to \(expected) bytes")
            if produced != expected { break }
        }
    }

    /// How many bytes zlib decodes from `prefix`, given all the room it wants.
    func inflatedLength(_ prefix: [UInt8]) -> Int {
        var stream = z_stream()
        precondition(inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { inflateEnd(&stream) }
        var input = prefix
        var output = [UInt8](repeating: 0, count: 1 << 20)
        return input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { outp in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress
                stream.avail_out = uInt(outp.count)
                _ = inflate(&stream, Z_SYNC_FLUSH)
                return outp.count - Int(stream.avail_out)
            }
        }
    }

    // MARK: FileDescriptorSource and its idle handler

    final class Handler: InputIdleHandler {
        var hasPendingWork = true
        var calls = 0
        var onCall: () -> Void = {}
        func inputWillWait() {
            calls += 1
            onCall()
        }
    }

    @Test func handlerIsToldOnlyWhenTheReadWouldBlock() throws {
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        let source = FileDescriptorSource(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        #expect(!source.isRegularFile)
        let handler = Handler()
        source.idleHandler = handler
        var buffer = [UInt8](repeating: 0, count: 64)
        func read() throws -> [UInt8] {
            let n = try buffer.withUnsafeMutableBytes { b in Result { () throws(RecordError) in try source.read(into: b) } }.get()
            return Array(buffer[0..<n])
        }

        // Bytes are there: no call.
        writer.write(Data([1, 2]))
        #expect(try read() == [1, 2])
        #expect(handler.calls == 0)

        // Nothing there and work pending: called once, before the read (which the handler's
        // own write then satisfies, so the test does not block).
        handler.onCall = { writer.write(Data([3])) }
        #expect(try read() == [3])
        #expect(handler.calls == 1)

        // Nothing there and nothing pending: no poll, no call; the read waits for the writer.
        handler.hasPendingWork = false
        handler.onCall = {}
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) { writer.write(Data([4])) }
        #expect(try read() == [4])
        #expect(handler.calls == 1)

        // The end of the input is readable: no call.
        handler.hasPendingWork = true
        try writer.close()
        #expect(try read() == [])
        #expect(handler.calls == 1)
    }

    @Test func regularFilesAreNeverPolled() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fffrecords-\(UUID().uuidString)").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try FileDescriptorSource(path: path)
        #expect(source.isRegularFile)
        let handler = Handler()
        source.idleHandler = handler
        var buffer = [UInt8](repeating: 0, count: 2)
        for _ in 0..<3 {
            _ = try buffer.withUnsafeMutableBytes { b in Result { () throws(RecordError) in try source.read(into: b) } }.get()
        }
        #expect(handler.calls == 0)
    }
}

/// A gzip stream written in pieces: each chunk compressed and sync-flushed (so its bytes decode
/// whole, as an interactive producer must write them), and the trailer that ends the member.
func syncFlushedGzip(_ chunks: [[UInt8]]) -> (chunks: [[UInt8]], trailer: [UInt8]) {
    var stream = z_stream()
    let status = deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                               Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK)
    defer { deflateEnd(&stream) }
    func deflateAll(_ bytes: [UInt8], _ flush: Int32) -> [UInt8] {
        var input = bytes
        var output: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 1 << 16)
        input.withUnsafeMutableBufferPointer { inp in
            stream.next_in = inp.baseAddress
            stream.avail_in = uInt(inp.count)
            repeat {
                let produced = piece.withUnsafeMutableBufferPointer { outp in
                    stream.next_out = outp.baseAddress
                    stream.avail_out = uInt(outp.count)
                    let r = deflate(&stream, flush)
                    precondition(r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR)
                    return outp.count - Int(stream.avail_out)
                }
                output += piece[0..<produced]
            } while stream.avail_out == 0
        }
        return output
    }
    return (chunks.map { deflateAll($0, Z_SYNC_FLUSH) }, deflateAll([], Z_FINISH))
}
