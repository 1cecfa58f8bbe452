import FastFeedforward
import FFFRecords

/// The counting loop of `fffrun eval`: records of `reader` and labels of `truth` side by side,
/// a block at a time, through the engine. The first block is read record by record (its notes
/// look at it whole); then records go through parallel rounds (``RunRounds``), in which each
/// thread also finds its records' predicted classes, while the labels are read in record order
/// on the calling thread. Errors come in the order a record-by-record reading meets them: a
/// label missing for a record read before a bad record is reported first.
struct EvalRun {
    let engine: BatchEngine
    let model: InferenceModel
    let inputName: String
    let showsNotes: Bool
    let progress: ProgressLine

    /// Counts every record into `report`; throws the first failure met.
    func run(_ reader: RecordReader, truth: LabelStream, into report: inout EvalReport) throws(CommandFailure) {
        let engine = self.engine
        let predicted = UnsafeMutableBufferPointer<Int32>.allocate(capacity: engine.blockCapacity)
        predicted.initialize(repeating: 0)
        defer { predicted.deallocate() }
        let truths = UnsafeMutableBufferPointer<Int32>.allocate(capacity: engine.blockCapacity)
        truths.initialize(repeating: 0)
        defer { truths.deallocate() }
        let rounds = engine.blockCapacity >= engine.threadCount * BatchEngine.minimumShare ? RunRounds(engine: engine) : nil
        var firstBlock = true
        while true {
            if !firstBlock, let rounds {
                try runRounds(reader, rounds: rounds, truth: truth, predicted: predicted, truths: truths, into: &report)
            }
            firstBlock = false
            let fill = engine.fill(from: reader)
            try truth.labels(forRecords: fill.count, of: inputName, into: truths.baseAddress!)
            if showsNotes && report.total == 0 {
                var notes = reader.notices.map { "\(inputName): \($0)" }
                if engine.inputForm == .raw, fill.count > 0,
                   let note = InputDomainCheck.note(model: model, records: UnsafePointer(engine.slot(0).baseAddress!), count: fill.count) {
                    notes.append(note)
                }
                for note in notes { printError("fffrun eval: note: \(note)") }
            }
            engine.evaluate(count: fill.count) { _, range in predictClasses(range, into: predicted) }
            report.add(truths: truths.baseAddress!, predicted: predicted.baseAddress!, count: fill.count)
            report.addLeaves(UnsafeBufferPointer(rebasing: engine.leaves[0..<fill.count]))
            progress.update(records: report.leafUsage.total)
            if let error = fill.error { throw CommandFailure.reading(error, from: inputName) }
            if fill.ended { break }
            if let rounds, reader.format?.isText == true, reader.recordsRead > 0 {
                rounds.estimateLines(averageBytes: Double(reader.bytesConsumed) / Double(reader.recordsRead))
            }
        }
    }

    /// The predicted class of records `range` of the engine's block, into `predicted` (on the
    /// thread that evaluated them).
    private func predictClasses(_ range: Range<Int>, into predicted: UnsafeMutableBufferPointer<Int32>) {
        for r in range {
            let scores = UnsafeBufferPointer(start: engine.output(r), count: model.outputWidth)
            predicted[r] = Int32(Classification(scores: scores, leaf: 0).index)
        }
    }

    /// Rounds until the reader hands out no run; see ``RunRounds``.
    private func runRounds(_ reader: RecordReader, rounds: RunRounds, truth: LabelStream,
                           predicted: UnsafeMutableBufferPointer<Int32>, truths: UnsafeMutableBufferPointer<Int32>,
                           into report: inout EvalReport) throws(CommandFailure) {
        let engine = self.engine, inputName = self.inputName
        while true {
            let run: RecordReader.Run?
            do {
                run = try rounds.nextRun(reader, mayRead: { true })
            } catch {
                throw CommandFailure.reading(error, from: inputName)
            }
            guard let run else { return }
            let outcome = try rounds.process(run, of: reader, work: { _, range in
                predictClasses(range, into: predicted)
            }, emit: { (_: Int, range: Range<Int>) throws(CommandFailure) in
                // The labels of the share's records in one go, then counted together (a
                // failure is thrown before its records count: the report is not shown then).
                try truth.labels(forRecords: range.count, of: inputName, into: truths.baseAddress! + range.lowerBound)
                report.add(truths: truths.baseAddress! + range.lowerBound, predicted: predicted.baseAddress! + range.lowerBound,
                           count: range.count)
                report.addLeaves(UnsafeBufferPointer(rebasing: engine.leaves[range]))
            }, discard: { _ in })
            progress.update(records: report.leafUsage.total)
            if outcome.needsReader { return }
        }
    }
}
