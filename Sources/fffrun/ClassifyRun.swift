import FastFeedforward
import FFFRecords

/// The state of one `classify` run: the engine, one formatter and output buffer per thread,
/// the output writer and the counts. Separate from the command so that the command's options
/// stay a plain value.
///
/// Records are read into the engine's block until it is full, and then evaluated and written
/// together. When the input pauses (a pipe or terminal with nothing to read right now: the next
/// `read(2)` would block), the records of the block read so far are evaluated, written and
/// flushed first, as ``InputIdleHandler``: a producer that writes a record and waits for its
/// answer gets it. A busy input still fills whole blocks, and a regular file is never polled.
/// With `lineBuffered`, every record is answered and flushed as soon as it is read.
final class ClassifyRun: InputIdleHandler {
    let engine: BatchEngine
    let formatters: [OutputFormatter]
    let buffers: [ByteBuffer]
    let writer = OutputWriter()
    let progress: ProgressLine
    /// Answer and flush every record as soon as it is read (`--line-buffered`).
    let lineBuffered: Bool
    private var usage: LeafUsage?
    /// Records classified and written.
    private(set) var records = 0
    /// The stream being classified and its `recordsRead` when the current block began: the idle
    /// handler learns from them how many records of the block have been read, so that the read
    /// loop keeps its count in a local variable.
    private var stream: RecordReader?
    private var blockStart = 0
    /// The paths of the current block, for `--files`.
    private var paths: [String] = []
    /// Records of the current block already evaluated and written.
    private var emitted = 0
    /// A write that failed while the input was idle; it ends the run (exit 74).
    private var idleFailure: CommandFailure?
    /// Print notes about the input on standard error (not with `-q`).
    let showsNotes: Bool
    /// The current stream's name for messages, and how many of its notices were shown.
    private var streamName = "standard input"
    private var noticesShown = 0

    init(engine: BatchEngine, formatters: [OutputFormatter], progress: ProgressLine, tracksLeaves: Bool,
         lineBuffered: Bool = false, showsNotes: Bool = true) {
        self.engine = engine
        self.formatters = formatters
        self.progress = progress
        self.lineBuffered = lineBuffered
        self.showsNotes = showsNotes
        buffers = formatters.map { _ in ByteBuffer() }
        usage = tracksLeaves ? LeafUsage(leafCount: engine.model.leafCount) : nil
    }

    // MARK: InputIdleHandler

    /// Records of the current block read so far.
    private var filled: Int {
        if let stream { return stream.recordsRead - blockStart }
        return paths.count
    }

    var hasPendingWork: Bool { filled > emitted || writer.hasBufferedBytes }

    /// The input has nothing to read right now: answer the records of the block read so far
    /// and flush. A failed write abandons the read, so a run whose output is gone ends at once.
    func inputWillWait() throws(RecordError) {
        do throws(CommandFailure) {
            try emitPending(upTo: filled)
            try flush()
        } catch {
            idleFailure = error
            throw RecordError(.io, error.message)
        }
    }

    // MARK: Streams

    /// Classifies every record of `reader` until its end or its first bad record; the results of
    /// the records before a bad one are written and flushed before the failure is thrown.
    /// `input`, the descriptor the reader reads (directly or through gzip), is polled when it
    /// would block with records pending (see the type's description).
    /// `name` says what the stream is in messages ("standard input", "'images.gz'").
    func classifyStream(_ reader: RecordReader, input: FileDescriptorSource? = nil,
                        name: String = "standard input") throws(CommandFailure) {
        stream = reader
        streamName = name
        noticesShown = 0
        input?.idleHandler = self
        defer {
            input?.idleHandler = nil
            stream = nil
        }
        let capacity = engine.blockCapacity, lineBuffered = self.lineBuffered
        // The first block is read record by record (the notes look at it whole); later ones go
        // through parallel rounds until something needs the record-by-record reader again.
        var firstBlock = true
        while true {
            if !firstBlock, let rounds {
                try classifyRounds(reader, rounds: rounds, input: input, name: name)
            }
            firstBlock = false
            blockStart = reader.recordsRead
            emitted = 0
            var count = 0
            var ended = false
            var readError: RecordError?
            while count < capacity {
                do {
                    if try !reader.next(into: engine.slot(count)) {
                        ended = true
                        break
                    }
                } catch {
                    readError = error
                    break
                }
                count += 1
                if lineBuffered {
                    try emitPending(upTo: count)
                    try flush()
                }
            }
            if let idleFailure { throw idleFailure }
            try emitPending(upTo: count)
            if let readError {
                try flush()
                throw CommandFailure.reading(readError, from: name)
            }
            if ended { break }
            if rounds != nil, reader.recordsRead > 0, let average = averageLineBytes(reader) {
                rounds!.estimateLines(averageBytes: average)
            }
        }
        try flush()
    }

    /// Parallel rounds (``RunRounds``), when the engine has threads enough for them: blocks of
    /// at least 16 records per thread, and not `--line-buffered`.
    private lazy var rounds: RunRounds? =
        !lineBuffered && engine.blockCapacity >= engine.threadCount * BatchEngine.minimumShare ? RunRounds(engine: engine) : nil

    private func averageLineBytes(_ reader: RecordReader) -> Double? {
        guard reader.format?.isText == true, reader.recordsRead > 0 else { return nil }
        return Double(reader.bytesConsumed) / Double(reader.recordsRead)
    }

    /// Classifies records of `reader` in parallel rounds until the reader hands out no run (the
    /// end of the input, or records that `next` must read: the caller goes on with it). Each
    /// round's answers are written in order; a failed read or write ends the run as in
    /// ``classifyStream(_:input:name:)``.
    private func classifyRounds(_ reader: RecordReader, rounds: RunRounds, input: FileDescriptorSource?,
                                name: String) throws(CommandFailure) {
        let formatters = self.formatters, buffers = self.buffers, engine = self.engine
        let mayRead: () -> Bool = { input?.canReadWithoutWaiting ?? true }
        while true {
            blockStart = reader.recordsRead
            emitted = 0
            let run: RecordReader.Run?
            do {
                run = try rounds.nextRun(reader, mayRead: mayRead)
            } catch {
                if let idleFailure { throw idleFailure }
                try flush()
                throw CommandFailure.reading(error, from: name)
            }
            if let idleFailure { throw idleFailure }
            guard let run else { return }
            let outcome = try rounds.process(run, of: reader, work: { share, range in
                let formatter = formatters[share], buffer = buffers[share]
                for r in range {
                    formatter.append(outputs: engine.output(r), leaf: Int(engine.leaves[r]), path: nil, to: buffer)
                }
            }, emit: { (share: Int, range: Range<Int>) throws(CommandFailure) in
                let buffer = buffers[share]
                do throws(OutputError) {
                    if buffer.count > 0 { try writer.write(buffer.bytes) }
                } catch {
                    buffer.removeAll()
                    throw CommandFailure.writing(error)
                }
                buffer.removeAll()
                usage?.add(UnsafeBufferPointer(rebasing: engine.leaves[range]))
            }, discard: { share in buffers[share].removeAll() })
            records += outcome.records
            blockStart = reader.recordsRead
            progress.update(records: records)
            if outcome.needsReader { return }
        }
    }

    /// `--files`: standard input lists paths, one per line (blank lines are skipped, a `\r`
    /// before the `\n` is dropped); each file is one record read by ``RecordFile``. The path
    /// list is polled like a record stream: paths read so far are answered when it pauses.
    func classifyFiles(options: RecordReaderOptions) throws(CommandFailure) {
        let input = FileDescriptorSource()
        input.idleHandler = self
        defer { input.idleHandler = nil }
        let lines = LineReader(source: input, detectsGzip: false, maxLineBytes: 1 << 16)
        paths.reserveCapacity(engine.blockCapacity)
        var number = 0
        while true {
            let line: UnsafeBufferPointer<UInt8>?
            do {
                line = try lines.next()
            } catch {
                if let idleFailure { throw idleFailure }
                try emitPending(upTo: paths.count)
                try flush()
                throw CommandFailure.reading(error, from: "standard input (the path list)")
            }
            guard let line else { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            number += 1
            let place = number == lines.lineNumber ? "record \(number)" : "record \(number) (line \(lines.lineNumber))"
            try classifyFile(String(decoding: line, as: UTF8.self), options: options,
                             place: "standard input (the path list), \(place)")
        }
        try emitPending(upTo: paths.count)
        try flush()
    }

    /// `--files FILE...`: each named file is one record, in the order given.
    func classifyFiles(_ files: [String], options: RecordReaderOptions) throws(CommandFailure) {
        paths.reserveCapacity(engine.blockCapacity)
        for (k, path) in files.enumerated() {
            try classifyFile(path, options: options, place: "record \(k + 1)")
        }
        try emitPending(upTo: paths.count)
        try flush()
    }

    /// Reads the one record of the file at `path` into the block, answering the block when it
    /// is full (or at once with `lineBuffered`). On a bad file, the records before it are
    /// answered and the failure names `place`: 66 when it cannot be read, else 65.
    private func classifyFile(_ path: String, options: RecordReaderOptions, place: String) throws(CommandFailure) {
        let values: [Float]
        do {
            values = try RecordFile.read(path: path, expectedWidth: engine.model.inputWidth, options: options)
        } catch {
            try emitPending(upTo: paths.count)
            try flush()
            let status = error.kind == .io ? CommandFailure.noInput : CommandFailure.dataError
            throw CommandFailure(status, "\(place): \(error.message)")
        }
        let slot = engine.slot(paths.count)
        _ = slot.update(fromContentsOf: values)
        paths.append(path)
        if lineBuffered {
            try emitPending(upTo: paths.count)
            try flush()
        }
        if paths.count == engine.blockCapacity {
            try emitPending(upTo: paths.count)
            paths.removeAll(keepingCapacity: true)
            emitted = 0
        }
    }

    /// Evaluates, formats and writes records `emitted ..< end` of the engine's block, then
    /// marks them emitted.
    private func emitPending(upTo end: Int) throws(CommandFailure) {
        let range = emitted ..< end
        if range.isEmpty { return }
        emitted = end
        if showsNotes { showNotes(range) }
        let engine = self.engine, formatters = self.formatters, buffers = self.buffers
        let paths: [String]? = stream == nil ? self.paths : nil
        engine.evaluate(range) { share, range in
            let formatter = formatters[share], buffer = buffers[share]
            for r in range {
                formatter.append(outputs: engine.output(r), leaf: Int(engine.leaves[r]), path: paths?[r], to: buffer)
            }
        }
        do {
            for buffer in buffers where buffer.count > 0 {
                try writer.write(buffer.bytes)
                buffer.removeAll()
            }
        } catch {
            throw CommandFailure.writing(error)
        }
        usage?.add(UnsafeBufferPointer(rebasing: engine.leaves[range]))
        records += range.count
        progress.update(records: records)
    }

    /// Shows the stream's new notices, and before the run's first answers, what
    /// ``InputDomainCheck`` sees in them.
    private func showNotes(_ range: Range<Int>) {
        if let stream, stream.notices.count > noticesShown {
            for notice in stream.notices[noticesShown...] { printNote("\(streamName): \(notice)") }
            noticesShown = stream.notices.count
        }
        if records == 0, engine.inputForm == .raw,
           let note = InputDomainCheck.note(model: engine.model, records: UnsafePointer(engine.slot(range.lowerBound).baseAddress!),
                                            count: range.count) {
            printNote(note)
        }
    }

    private func printNote(_ text: String) {
        progress.clear()
        printError("fffrun classify: note: \(text)")
    }

    private func flush() throws(CommandFailure) {
        do { try writer.flush() } catch { throw CommandFailure.writing(error) }
    }

    /// `-v`'s closing lines: count, time, rate, input format and leaf balance.
    func report(elapsed: Duration, input: String) {
        let seconds = ProgressLine.seconds(elapsed)
        let perRecord = records == 0 ? "n/a" : NumberText.fixed(seconds * 1e6 / Double(records), 3) + " µs/record"
        let rate = seconds > 0 ? NumberText.fixed(Double(records) / seconds, 0) : "n/a"
        progress.clear()
        printError("fffrun classify: \(records) records in \(NumberText.fixed(seconds, 3)) s (\(perRecord), \(rate) records/s); input: \(input)")
        if let usage {
            let entropy = usage.normalizedEntropy.map { NumberText.fixed($0, 4) } ?? "n/a"
            printError("fffrun classify: leaf usage: normalised entropy \(entropy), \(usage.unusedLeaves) of \(usage.leafCount) leaves unused")
        }
    }
}
