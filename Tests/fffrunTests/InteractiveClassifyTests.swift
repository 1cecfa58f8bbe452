import Foundation
import Testing
#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// `fffrun classify` with an interactive producer: standard input is a pipe that stays open, the
/// producer writes one record and waits for its answer, then the next. Each answer must come
/// while standard input is open (records pending when the next read would block are answered
/// and flushed), and the whole output must equal the batch path's for the same bytes.
/// fuzz/streams/regressions/interactive-producer.py checks more formats (and gzip) end to end.
@Suite struct InteractiveClassifyTests {
    typealias F = ClassifyFixtures

    /// How long one answer may take: generous, so that a loaded CI machine does not flake.
    static let answerTimeout: Double = 10

    struct Producer: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: [String]
        /// The bytes of the two records (the first with any header), written one at a time.
        let chunks: @Sendable ([[Float]]) -> [Data]
        var testDescription: String { name }
    }

    static let producers: [Producer] = {
        let csv: @Sendable ([[Float]]) -> [Data] = { records in records.map { F.Encoding.text([$0], separator: ",") } }
        let u8: @Sendable ([[Float]]) -> [Data] = { records in records.map { F.Encoding.u8([$0]) } }
        let idx: @Sendable ([[Float]]) -> [Data] = { records in
            let whole = F.Encoding.idx(records, float: false)
            let header = whole.count - records.count * records[0].count
            let width = records[0].count
            return (0..<records.count).map { k in
                whole.subdata(in: (k == 0 ? 0 : header + k * width) ..< header + (k + 1) * width)
            }
        }
        return [
            Producer(name: "csv", arguments: ["--input-format", "csv", "--threads", "1"], chunks: csv),
            Producer(name: "u8", arguments: ["--input-format", "u8", "--threads", "1"], chunks: u8),
            Producer(name: "auto (csv)", arguments: ["--threads", "1"], chunks: csv),
            Producer(name: "auto (idx)", arguments: ["--threads", "1"], chunks: idx),
            Producer(name: "csv, 2 threads", arguments: ["--input-format", "csv", "--threads", "2"], chunks: csv),
            Producer(name: "u8, 2 threads", arguments: ["--input-format", "u8", "--threads", "2"], chunks: u8),
            Producer(name: "auto (csv), 2 threads", arguments: ["--threads", "2"], chunks: csv),
            Producer(name: "csv, --line-buffered", arguments: ["--input-format", "csv", "--line-buffered"], chunks: csv),
        ]
    }()

    @Test(arguments: producers)
    func eachRecordIsAnsweredWhileInputStaysOpen(producer: Producer) throws {
        let demo = try F.demo()
        let chunks = producer.chunks(Array(demo.records[0..<2]))
        let arguments = ["classify", demo.modelPath, "--output", "scores", "--leaf"] + producer.arguments
        try converse(arguments, chunks: chunks)
    }

    /// `--files`: the path list is a pipe too; each path is answered when the list pauses.
    @Test func pathListIsAnsweredWhileInputStaysOpen() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let chunks = try (0..<2).map { k in
            let path = directory.path("record\(k).csv")
            try F.Encoding.text([demo.records[k]], separator: ",").write(to: URL(fileURLWithPath: path))
            return Data((path + "\n").utf8)
        }
        try converse(["classify", demo.modelPath, "--files", "--output", "index", "--threads", "1"], chunks: chunks)
    }

    /// When the output is gone, the answer that fails to go out ends the run at once, silently,
    /// by SIGPIPE, although standard input stays open: fffrun does not wait for more input.
    @Test func closedOutputEndsTheRunWhileInputStaysOpen() throws {
        let demo = try F.demo()
        let process = Process()
        process.executableURL = try FFFRunBinary.location.get()
        process.arguments = ["classify", demo.modelPath, "--input-format", "csv", "--threads", "1"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer {
            try? input.fileHandleForWriting.close()
            if process.isRunning { process.terminate() }
        }
        try output.fileHandleForReading.close()
        input.fileHandleForWriting.write(F.Encoding.text([demo.records[0]], separator: ","))
        let deadline = Date().addingTimeInterval(Self.answerTimeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        try #require(!process.isRunning, "still running \(Self.answerTimeout) s after its output was closed")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGPIPE)
        #expect(stderr == "")
    }

    /// Runs `fffrun arguments`, writes `chunks` one at a time (each completes one record) and
    /// expects one more answer line after each while standard input is open; then closes it and
    /// expects exit 0 and the output of the batch path (the same bytes from a regular file).
    func converse(_ arguments: [String], chunks: [Data], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let batch = try F.fffrun(arguments, stdin: chunks.reduce(Data(), +))
        try #require(batch.status == 0, "batch run: \(batch.stderr)", sourceLocation: sourceLocation)
        #expect(batch.lines.count == chunks.count, sourceLocation: sourceLocation)

        let process = Process()
        process.executableURL = try FFFRunBinary.location.get()
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var stdinOpen = true
        defer {
            if stdinOpen { try? input.fileHandleForWriting.close() }
            if process.isRunning { process.terminate() }
        }
        let stdout = output.fileHandleForReading.fileDescriptor
        var received = Data()
        for (k, chunk) in chunks.enumerated() {
            input.fileHandleForWriting.write(chunk)
            let complete = Self.read(stdout, into: &received, untilLines: k + 1, timeout: Self.answerTimeout)
            try #require(complete, "no answer to record \(k + 1) within \(Self.answerTimeout) s while standard input is open; got \(String(decoding: received, as: UTF8.self).debugDescription)",
                         sourceLocation: sourceLocation)
            #expect(received.filter { $0 == 0x0A }.count == k + 1, "exactly one answer per record so far",
                    sourceLocation: sourceLocation)
        }
        try input.fileHandleForWriting.close()
        stdinOpen = false
        received += output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "stderr: \(stderr)", sourceLocation: sourceLocation)
        #expect(received == batch.stdoutData, "interactive output differs from the batch path's", sourceLocation: sourceLocation)
    }

    /// Reads `fd` into `data` until it holds `lines` newlines (true), or `timeout` seconds pass or
    /// the stream ends first (false).
    static func read(_ fd: Int32, into data: inout Data, untilLines lines: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while data.filter({ $0 == 0x0A }).count < lines {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(min(left * 1000 + 1, 60_000)))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            data.append(contentsOf: buffer[0..<n])
        }
        return true
    }
}
