import FFFRecords

/// Runs the records of a big stream in rounds that use every thread of a ``BatchEngine`` for
/// the whole work, reading included: the reader hands out a ``RecordReader/Run`` (whole records
/// or lines already in its buffer; for a binary regular file, records not read yet, which each
/// share reads itself with `pread`, so the copy out of the page cache runs on every thread and
/// lands in the cache of the core that uses it; for a text regular file, bytes not read yet,
/// which the threads read an equal piece each before the run is cut at its last line end),
/// each share of the engine decodes (binary) or parses (text)
/// its part of the run a slice at a time into a scratch of its own and evaluates it (u8 records
/// go to the kernels as they are, which widen each byte as they copy the record in), then does
/// the caller's work on it (formatting, counting) on its own thread; then, on the calling
/// thread and in stream order, the caller emits each share's records and the reader is told how
/// far the round went.
///
/// Where a share meets anything but a plain record (a bad value, a blank or comment line, an
/// overlong line), it stops there: the shares before it and its records before that point count,
/// the later shares are discarded, and the caller reads on with `RecordReader.next`, which finds
/// the same place and reports it exactly as a record-by-record reading would (same message, same
/// record, line and column). Output before it is the same too: every record before it is
/// emitted, in order.
///
/// Runs are split among the shares in proportion to the threads' measured speeds
/// (``ShareBalance``; equal parts until every thread was timed): binary runs by record counts;
/// text runs at line ends, each share parsing into its own region of the block, region and
/// piece taking the same fraction of block and run, so the number of lines a run should hold is
/// estimated from the lines read so far (a part with more lines than its region stops at the
/// region's end and the round ends there: only that work is redone).
///
/// The calling thread's part is not made smaller for the reading and writing it does between
/// rounds: those happen while the other threads wait for the next round, so a smaller part for
/// the caller only makes the others' parts, and the round, longer. (Measured on 1,000,000 MNIST
/// records, 2 cores: parts sized to even out the caller's extra work made CSV rounds 1.34x
/// slower, by overfilled regions redone, and IDX rounds 1.05x to 1.11x slower.)
///
/// Memory: a few integers per thread, allocated once.
final class RunRounds {
    let engine: BatchEngine
    /// Per share: the first record of its region, the records it decoded, and (text) the bytes
    /// of its part and of the lines it used.
    private let first: UnsafeMutableBufferPointer<Int>
    private let decoded: UnsafeMutableBufferPointer<Int>
    private let partBytes: UnsafeMutableBufferPointer<Int>
    private let usedBytes: UnsafeMutableBufferPointer<Int>
    /// Per share, where its piece of a text run read in parts ends (see ``readInParts(_:)``).
    private let filledTo: UnsafeMutableBufferPointer<Int>
    /// How rounds are divided among the threads.
    private let balance: ShareBalance
    /// The bytes a text run aims at: the lines that fill about 85% of every region.
    private(set) var textTarget: Int
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
        filledTo = .allocate(capacity: shares)
        balance = ShareBalance(threads: shares)
        for buffer in [first, decoded, partBytes, usedBytes, filledTo] { buffer.initialize(repeating: 0) }
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
        filledTo.deallocate()
        scratch.deallocate()
    }

    /// Records decoded and evaluated at once within a share: few enough that their values
    /// (and the kernels' copies of them) stay in the core's L2 cache between the two.
    static let slice = 128

    /// Share `share`'s region of the block in a text round (set by the round's split, in
    /// `first`).
    private func region(_ share: Int, of shares: Int) -> Range<Int> {
        first[share] ..< (share + 1 < shares ? first[share + 1] : engine.blockCapacity)
    }

    /// Sets the text target from an average line length in bytes.
    func estimateLines(averageBytes: Double) {
        guard averageBytes.isFinite, averageBytes > 0 else { return }
        // Each share's piece of the run must fit its region: pieces and regions take the same
        // fraction of the run and of the block.
        let lines = Double(engine.blockCapacity) * 0.85
        textTarget = max(4096, min(64 << 20, Int(lines * averageBytes)))
    }

    /// The next run of `reader` for a round (see ``RecordReader/nextRun``).
    func nextRun(_ reader: RecordReader, mayRead: () -> Bool) throws(RecordError) -> RecordReader.Run? {
        reader.readsRunsInParts = true
        engine.shareCores(with: reader)
        return try reader.nextRun(maxRecords: engine.blockCapacity, targetBytes: textTarget, mayRead: mayRead)
    }

    /// Reads a text run handed out unread (a regular file) on every thread, an equal piece each,
    /// and cuts it to the whole lines read: the copy out of the page cache, a tenth of the work
    /// of a CSV round, then runs on every core instead of on the calling thread while the
    /// others wait. (Measured: see BENCHMARKS.md.)
    private func readInParts(_ run: RecordReader.Run) -> RecordReader.Run {
        let threads = engine.threadCount
        let filledTo = self.filledTo
        engine.runShares(threads) { share in
            let piece = run.piece(share, of: threads)
            filledTo[share] = piece.lowerBound + run.fill(bytes: piece)
        }
        return run.wholeLines(readTo: UnsafeBufferPointer(filledTo))
    }

    /// ``BatchEngine/runShares(_:_:)``, each share timed for ``balance``.
    private func runTimedShares(_ shares: Int, _ body: (Int) -> Void) {
        let elapsed = balance.elapsed
        engine.runShares(shares) { share in
            let started = WorkerPool.now()
            body(share)
            elapsed[share] = WorkerPool.now() - started
        }
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
        var run = run
        if run.isText && run.hasUnreadBytes {
            run = readInParts(run)
            if run.bytes.isEmpty {
                // No line ends among the bytes read (a line longer than the run, or the last
                // line of the file without one): the reader's turn.
                reader.commit(records: 0, bytes: 0)
                return Outcome(records: 0, needsReader: true)
            }
        }
        let decoder = reader.runDecoder
        let engine = self.engine
        let first = self.first, decoded = self.decoded, partBytes = self.partBytes, usedBytes = self.usedBytes
        let scratch = self.scratch, scratchStride = self.scratchStride
        let shares: Int
        if run.isText {
            // Regions of the block, and pieces of the run, in proportion to the threads' speeds.
            shares = engine.threadCount
            let capacity = engine.blockCapacity
            balance.split(capacity, shares: shares, into: first)
            let parts = decoder.split(run.bytes, at: (0..<shares).map { region($0, of: shares).upperBound }, of: capacity)
            for share in 0..<shares { partBytes[share] = parts[share].count }
            runTimedShares(shares) { share in
                let region = self.region(share, of: shares), part = parts[share]
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
            balance.split(run.count, shares: shares, into: first)
            for share in 0..<shares {
                let end = share + 1 < shares ? first[share + 1] : run.count
                partBytes[share] = (end - first[share]) * run.recordBytes
            }
            runTimedShares(shares) { share in
                let from = first[share], whole = share + 1 < shares ? first[share + 1] : run.count
                // A run of a regular file comes unread: each share reads its own part.
                let to = from + run.fill(records: from ..< whole)
                var at = from
                if decoder.recordsAreBytes, let base = run.bytes.baseAddress {
                    // u8 records go to the kernels as they are (no Float copy, no decode pass).
                    let bytes = base.assumingMemoryBound(to: UInt8.self) + from * run.recordBytes
                    engine.evaluate(share: share, bytes: bytes, as: from ..< to)
                    at = to
                }
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
        if shares > 1 { balance.learn(shares: shares) { decoded[$0] } }
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
                let full = run.isText && records == region(share, of: shares).count
                outcome.needsReader = !full
            }
        }
        reader.commit(records: outcome.records, bytes: bytes)
        if run.isText && outcome.records > 0 {
            estimateLines(averageBytes: Double(bytes) / Double(outcome.records))
        }
        return outcome
    }
}
