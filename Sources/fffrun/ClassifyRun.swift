import FastFeedforward
import FFFRecords

/// The state of one `classify` run: the engine, one formatter and output buffer per thread,
/// the output writer and the counts. Separate from the command so that the command's options
/// stay a plain value.
final class ClassifyRun {
    let engine: BatchEngine
    let formatters: [OutputFormatter]
    let buffers: [ByteBuffer]
    let writer = OutputWriter()
    let progress: ProgressLine
    private var usage: LeafUsage?
    /// Records classified and written.
    private(set) var records = 0

    init(engine: BatchEngine, formatters: [OutputFormatter], progress: ProgressLine, tracksLeaves: Bool) {
        self.engine = engine
        self.formatters = formatters
        self.progress = progress
        buffers = formatters.map { _ in ByteBuffer() }
        usage = tracksLeaves ? LeafUsage(leafCount: engine.model.leafCount) : nil
    }

    /// Classifies every record of `reader` until its end or its first bad record; the results of
    /// the records before a bad one are written and flushed before the failure is thrown.
    func classifyStream(_ reader: RecordReader) throws(CommandFailure) {
        while true {
            let fill = engine.fill(from: reader)
            try emit(fill.count, paths: nil)
            if let error = fill.error {
                try flush()
                throw CommandFailure.reading(error, from: "standard input")
            }
            if fill.ended { break }
        }
        try flush()
    }

    /// `--files`: standard input lists paths, one per line (blank lines are skipped, a `\r`
    /// before the `\n` is dropped); each file is one record read by ``RecordFile``.
    func classifyFiles(options: RecordReaderOptions) throws(CommandFailure) {
        let lines = LineReader(source: FileDescriptorSource(), detectsGzip: false, maxLineBytes: 1 << 16)
        var paths: [String] = []
        paths.reserveCapacity(engine.blockCapacity)
        var number = 0
        while true {
            let line: UnsafeBufferPointer<UInt8>?
            do {
                line = try lines.next()
            } catch {
                try emit(paths.count, paths: paths)
                try flush()
                throw CommandFailure.reading(error, from: "standard input (the path list)")
            }
            guard let line else { break }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            number += 1
            let path = String(decoding: line, as: UTF8.self)
            let values: [Float]
            do {
                values = try RecordFile.read(path: path, expectedWidth: engine.model.inputWidth, options: options)
            } catch {
                try emit(paths.count, paths: paths)
                try flush()
                let place = number == lines.lineNumber ? "record \(number)" : "record \(number) (line \(lines.lineNumber))"
                let status = error.kind == .io ? CommandFailure.noInput : CommandFailure.dataError
                throw CommandFailure(status, "standard input (the path list), \(place): \(error.message)")
            }
            let slot = engine.slot(paths.count)
            _ = slot.update(fromContentsOf: values)
            paths.append(path)
            if paths.count == engine.blockCapacity {
                try emit(paths.count, paths: paths)
                paths.removeAll(keepingCapacity: true)
            }
        }
        try emit(paths.count, paths: paths)
        try flush()
    }

    /// Evaluates, formats and writes records `0 ..< count` of the engine's block.
    private func emit(_ count: Int, paths: [String]?) throws(CommandFailure) {
        if count == 0 { return }
        let engine = self.engine, formatters = self.formatters, buffers = self.buffers
        engine.evaluate(count: count) { share, range in
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
        usage?.add(UnsafeBufferPointer(rebasing: engine.leaves[0..<count]))
        records += count
        progress.update(records: records)
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
