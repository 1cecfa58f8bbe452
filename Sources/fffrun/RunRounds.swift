import FFFRecords

/// Runs the records of a big stream in rounds that use every thread of a ``BatchEngine`` for
/// the whole work, reading included: the reader hands out a ``RecordReader/Run`` (whole records
/// or lines already in its buffer), each share of the engine decodes (binary) or parses (text)
/// its part of the run straight into the engine's block, evaluates it and does the caller's work
/// on it (formatting, counting) on its own thread; then, on the calling thread and in stream
/// order, the caller emits each share's records and the reader is told how far the round went.
///
/// Where a share meets anything but a plain record (a bad value, a blank or comment line, an
/// overlong line), it stops there: the shares before it and its records before that point count,
/// the later shares are discarded, and the caller reads on with `RecordReader.next`, which finds
/// the same place and reports it exactly as a record-by-record reading would (same message, same
/// record, line and column). Output before it is the same too: every record before it is
/// emitted, in order.
///
/// Text runs are split at line ends into one part per share; each share parses into its own
/// region of the block, so the number of lines a run should hold is estimated from the lines
/// read so far (a part with more lines than its region stops at the region's end and the round
/// ends there: only that work is redone). Binary runs are split by record count.
///
/// Memory: a few integers per share, allocated once.
final class RunRounds {
    let engine: BatchEngine
    /// Per share: the first record of its region, the records it decoded, and (text) the bytes
    /// of its part and of the lines it used.
    private let first: UnsafeMutableBufferPointer<Int>
    private let decoded: UnsafeMutableBufferPointer<Int>
    private let partBytes: UnsafeMutableBufferPointer<Int>
    private let usedBytes: UnsafeMutableBufferPointer<Int>
    /// The bytes a text run aims at: the lines that fill about 85% of every region.
    private(set) var textTarget: Int
    /// Per share: the time its last round took.
    private let seconds: UnsafeMutableBufferPointer<Double>
    /// The calling thread's own work between two rounds (emitting, reading), in records' worth
    /// of share work (a running average): share 0, on the calling thread, gets that many fewer
    /// records than the others, so that all finish together.
    private var callerLoad = 0.0
    /// When the last round's shares finished, when the rounds follow each other directly.
    private var lastEnd: ContinuousClock.Instant?
    /// The average bytes of a line, for the text target.
    private var lineBytes = 0.0
    /// Per share, room for one slice of records: decoded there and evaluated from there, the
    /// same few hundred KiB again and again, they stay in the core's cache.
    private let scratch: UnsafeMutableBufferPointer<Float>
    private let scratchStride: Int

    init(engine: BatchEngine) {
        self.engine = engine
        let shares = engine.threadCount
        first = .allocate(capacity: shares)
        decoded = .allocate(capacity: shares)
        partBytes = .allocate(capacity: shares)
        usedBytes = .allocate(capacity: shares)
        for buffer in [first, decoded, partBytes, usedBytes] { buffer.initialize(repeating: 0) }
        seconds = .allocate(capacity: shares)
        seconds.initialize(repeating: 0)
        scratchStride = Self.slice * engine.model.inputWidth
        scratch = .allocate(capacity: shares * scratchStride)
        scratch.initialize(repeating: 0)
        textTarget = 1 << 20
    }

    deinit {
        first.deallocate()
        decoded.deallocate()
        partBytes.deallocate()
        usedBytes.deallocate()
        seconds.deallocate()
        scratch.deallocate()
    }

    /// The share of a round's records that share 0 takes: `1 / T` less the caller's load.
    private func firstShare(records: Double) -> Double {
        let shares = Double(engine.threadCount)
        if shares == 1 || records <= 0 { return 1 }
        let share = (records - (shares - 1) * callerLoad) / shares / records
        return min(1 / shares, max(0.25 / shares, share))
    }

    /// Learns the caller's load from the gap before this round and the shares' times.
    private func measure(gap: Double?, records: Int, shares: Int) {
        var busy = 0.0
        for share in 0..<shares { busy += seconds[share] }
        guard let gap, shares > 1, records > 0, busy > 0 else { return }
        let load = gap / (busy / Double(records))
        callerLoad = callerLoad == 0 ? load : 0.8 * callerLoad + 0.2 * load
    }

    /// Records decoded and evaluated at once within a share: few enough that their values
    /// (and the kernels' copies of them) stay in the core's L2 cache between the two.
    static let slice = 128

    /// Sets the text target from an average line length in bytes.
    func estimateLines(averageBytes: Double) {
        guard averageBytes.isFinite, averageBytes > 0 else { return }
        lineBytes = averageBytes
        // The parts after the first are the largest: each must fit its region.
        let shares = Double(engine.threadCount)
        let first = firstShare(records: Double(engine.blockCapacity))
        let largest = shares == 1 ? 1 : max(first, (1 - first) / (shares - 1))
        let lines = Double(engine.region(0).count) * 0.85 / largest
        textTarget = max(4096, min(64 << 20, Int(lines * averageBytes)))
    }

    /// The next run of `reader` for a round (see ``RecordReader/nextRun``).
    func nextRun(_ reader: RecordReader, mayRead: () -> Bool) throws(RecordError) -> RecordReader.Run? {
        try reader.nextRun(maxRecords: engine.blockCapacity, targetBytes: textTarget, mayRead: mayRead)
    }

    /// What a round found.
    struct Outcome {
        /// Records emitted and marked read.
        var records: Int
        /// A share stopped at something that is not a plain record: the caller reads on with
        /// `RecordReader.next`.
        var needsReader: Bool
    }

    /// Decodes, evaluates and hands out `run`: `work(share, records)` runs on the share's
    /// thread after the share's records of the block are evaluated; `emit(share, records)` then
    /// runs on the calling thread for every share that counts, in stream order, and
    /// `discard(share)` for the shares after a stop. Marks what was emitted as read.
    func process(_ run: RecordReader.Run, of reader: RecordReader,
                 work: (Int, Range<Int>) -> Void,
                 emit: (Int, Range<Int>) throws(CommandFailure) -> Void,
                 discard: (Int) -> Void) throws(CommandFailure) -> Outcome {
        let decoder = reader.runDecoder
        let engine = self.engine
        let first = self.first, decoded = self.decoded, partBytes = self.partBytes, usedBytes = self.usedBytes
        let seconds = self.seconds, scratch = self.scratch, scratchStride = self.scratchStride
        let gap = lastEnd.map { ProgressLine.seconds(ContinuousClock.now - $0) }
        let shares: Int
        if run.isText {
            shares = engine.threadCount
            let lines = lineBytes > 0 ? Double(run.bytes.count) / lineBytes : Double(engine.blockCapacity)
            let parts = decoder.split(run.bytes, parts: shares, firstShare: firstShare(records: lines))
            for share in 0..<shares {
                first[share] = engine.region(share).lowerBound
                partBytes[share] = parts[share].count
            }
            engine.runShares(shares) { share in
                let start = ContinuousClock.now
                defer { seconds[share] = ProgressLine.seconds(ContinuousClock.now - start) }
                let region = engine.region(share), part = parts[share]
                // Parse and evaluate a slice at a time, so that a slice's values are still in
                // the core's cache when they are evaluated.
                var records = 0, bytes = 0
                while records < region.count && bytes < part.count {
                    let slice = min(Self.slice, region.count - records)
                    let at = region.lowerBound + records
                    let values = scratch.baseAddress! + share * scratchStride
                    let (n, used) = decoder.parseLines(UnsafeRawBufferPointer(rebasing: run.bytes[(part.lowerBound + bytes) ..< part.upperBound]),
                                                       into: values, capacity: slice)
                    engine.evaluate(share: share, inputs: values, as: at ..< at + n)
                    records += n
                    bytes += used
                    if n < slice { break }
                }
                decoded[share] = records
                usedBytes[share] = bytes
                work(share, region.lowerBound ..< region.lowerBound + records)
            }
        } else {
            shares = min(engine.threadCount, max(1, run.count / BatchEngine.minimumShare))
            // Share 0 takes its smaller part first, the others equal parts of the rest.
            let zero = shares == engine.threadCount ? Int(Double(run.count) * firstShare(records: Double(run.count)))
                : run.count / shares
            for share in 0..<shares {
                first[share] = share == 0 ? 0 : zero + (share - 1) * (run.count - zero) / (shares - 1)
            }
            for share in 0..<shares {
                let end = share + 1 < shares ? first[share + 1] : run.count
                partBytes[share] = (end - first[share]) * run.recordBytes
            }
            engine.runShares(shares) { share in
                let start = ContinuousClock.now
                defer { seconds[share] = ProgressLine.seconds(ContinuousClock.now - start) }
                let from = first[share], to = share + 1 < shares ? first[share + 1] : run.count
                var at = from
                while at < to {
                    let end = min(to, at + Self.slice)
                    let values = scratch.baseAddress! + share * scratchStride
                    let n = decoder.decode(run, records: at ..< end, into: values)
                    engine.evaluate(share: share, inputs: values, as: at ..< at + n)
                    at += n
                    if at < end { break }
                }
                decoded[share] = at - from
                usedBytes[share] = (at - from) * run.recordBytes
                work(share, from ..< at)
            }
        }
        var total = 0
        for share in 0..<shares { total += decoded[share] }
        measure(gap: gap, records: total, shares: shares)
        lastEnd = ContinuousClock.now
        var outcome = Outcome(records: 0, needsReader: false)
        var bytes = 0
        var stopped = false
        for share in 0..<shares {
            if stopped {
                discard(share)
                continue
            }
            let records = decoded[share]
            do {
                try emit(share, first[share] ..< first[share] + records)
            } catch {
                reader.commit(records: outcome.records, bytes: bytes)
                throw error
            }
            outcome.records += records
            bytes += usedBytes[share]
            if usedBytes[share] < partBytes[share] {
                stopped = true
                // A text region filled up: only the round ends. Anything else: the reader's turn.
                let full = run.isText && records == engine.region(share).count
                outcome.needsReader = !full
            }
        }
        reader.commit(records: outcome.records, bytes: bytes)
        if outcome.needsReader { lastEnd = nil }  // the reader's records come before the next round
        if run.isText && outcome.records > 0 {
            estimateLines(averageBytes: Double(bytes) / Double(outcome.records))
        }
        return outcome
    }
}
