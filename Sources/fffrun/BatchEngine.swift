import FastFeedforward
import FFFRecords

/// Evaluates records a block at a time: the caller fills the block (``fill(from:)`` or
/// ``slot(_:)``), then ``evaluate(_:then:)`` splits it (or the part of it not yet evaluated)
/// into contiguous shares, one per thread, each run through `predictBatch` with the thread's
/// own ``Workspace``.
///
/// Memory is fixed at creation: a block of at most 4096 records (fewer for wide records, so the
/// block's inputs take about 4 MiB), its outputs and leaves, and one workspace per thread.
/// Nothing is allocated per record or per block.
final class BatchEngine {
    /// The compiled model.
    let model: InferenceModel
    /// Whether records are raw (the model's preprocessing applies) or already preprocessed.
    let inputForm: InputForm
    /// Records per block.
    let blockCapacity: Int
    /// Threads evaluating a block (the caller included).
    let threadCount: Int
    /// `blockCapacity * inputWidth` floats, record-major.
    let inputs: UnsafeMutableBufferPointer<Float>
    /// `blockCapacity * outputWidth` floats, record-major.
    let outputs: UnsafeMutableBufferPointer<Float>
    /// The leaf of each record of the block.
    let leaves: UnsafeMutableBufferPointer<Int32>
    private let workspaces: [Workspace]
    private let pool: WorkerPool?

    /// The most records a block holds.
    static let maxBlockRecords = 4096
    /// The input bytes a block aims at: wide records make blocks shorter.
    static let blockInputBytes = 4 << 20
    /// The fewest records worth giving a thread of its own.
    static let minimumShare = 16

    /// Threads waiting between rounds sleep at once instead of spinning first (see
    /// ``WorkerPool/stopSpinning()``).
    func stopSpinning() { pool?.stopSpinning() }

    /// Leaves a core to `reader`'s own thread, if it has one (gzip from a regular file,
    /// inflated on a thread of its own, known once the reader is prepared): the pool's threads
    /// then sleep at once between rounds, where spinning would take that thread's core. O(1).
    func shareCores(with reader: RecordReader) {
        if reader.inflatesOnItsOwnThread { stopSpinning() }
    }

    /// An engine for `model` with `threads` threads (1: everything on the calling thread), or
    /// with the threads of `sharing` (an engine of as many threads, driven by the same thread,
    /// one engine's rounds after the other's: two pools would have one idle pool's threads spin
    /// beside the other's). Throws ``PoolError`` when a thread cannot be started.
    init(model: InferenceModel, inputForm: InputForm, threads: Int,
         sharingThreadsOf sharing: BatchEngine? = nil) throws(PoolError) {
        precondition(threads >= 1, "at least one thread")
        self.model = model
        self.inputForm = inputForm
        let byWidth = Self.blockInputBytes / (model.inputWidth * 4)
        blockCapacity = max(1, min(Self.maxBlockRecords, byWidth))
        threadCount = threads
        inputs = .allocate(capacity: blockCapacity * model.inputWidth)
        inputs.initialize(repeating: 0)
        outputs = .allocate(capacity: blockCapacity * model.outputWidth)
        outputs.initialize(repeating: 0)
        leaves = .allocate(capacity: blockCapacity)
        leaves.initialize(repeating: 0)
        workspaces = (0..<threads).map { _ in Workspace(for: model) }
        do {
            if let sharing {
                precondition(sharing.threadCount == threads, "a shared pool has \(sharing.threadCount) threads, not \(threads)")
                pool = sharing.pool
            } else {
                pool = threads > 1 ? try WorkerPool(size: threads) : nil
            }
        } catch {
            inputs.deallocate()
            outputs.deallocate()
            leaves.deallocate()
            throw error
        }
    }

    deinit {
        // The pool stops its threads when its last engine lets it go (WorkerPool.deinit).
        inputs.deallocate()
        outputs.deallocate()
        leaves.deallocate()
    }

    /// Room for record `index` of the block (`inputWidth` floats).
    func slot(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        let width = model.inputWidth
        return UnsafeMutableBufferPointer(rebasing: inputs[index * width ..< (index + 1) * width])
    }

    /// The outputs of record `index` of the last evaluated block.
    func output(_ index: Int) -> UnsafePointer<Float> {
        UnsafePointer(outputs.baseAddress! + index * model.outputWidth)
    }

    /// What ``fill(from:)`` found.
    struct Fill {
        /// Whole records read into the block.
        var count: Int
        /// The input ended (cleanly, or with `error`) after those records.
        var ended: Bool
        /// The error that stopped reading, after the `count` whole records before it.
        var error: RecordError?
    }

    /// Reads records from `reader` until the block is full, the input ends or a record is bad.
    /// O(bytes read); allocates nothing in the steady state.
    func fill(from reader: RecordReader) -> Fill {
        var count = 0
        while count < blockCapacity {
            do {
                if try !reader.next(into: slot(count)) { return Fill(count: count, ended: true, error: nil) }
            } catch {
                return Fill(count: count, ended: true, error: error)
            }
            count += 1
        }
        return Fill(count: count, ended: false, error: nil)
    }

    // MARK: Shares run by the caller

    /// Runs `body(share)` for shares `0 ..< shares` at once, share 0 on the calling thread, and
    /// returns when all are done. Each share must touch only its own records, outputs and
    /// buffers. Precondition: `1 <= shares <= threadCount`.
    func runShares(_ shares: Int, _ body: (Int) -> Void) {
        if let pool, shares > 1 { pool.run(shares, body) } else { body(0) }
    }

    /// Evaluates records `records` of the block on the calling thread with share `share`'s
    /// workspace (from within ``runShares(_:_:)``).
    func evaluate(share: Int, _ records: Range<Int>) {
        evaluate(share: share, inputs: inputs.baseAddress! + records.lowerBound * model.inputWidth, as: records)
    }

    /// Evaluates the `records.count` records at `inputs` (record-major, any memory of the
    /// caller's) as records `records` of the block: outputs and leaves go to the block.
    func evaluate(share: Int, inputs: UnsafePointer<Float>, as records: Range<Int>) {
        if records.isEmpty { return }
        let (outputs, leaves) = results(of: records)
        model.predictBatch(UnsafeBufferPointer(start: inputs, count: records.count * model.inputWidth),
                           into: outputs, leaves: leaves, workspace: workspaces[share], input: inputForm)
    }

    /// ``evaluate(share:inputs:as:)`` for records of unsigned bytes at `bytes` (`records.count *
    /// inputWidth` of them): the kernels widen each byte as they copy the record in, with the
    /// same results bit for bit.
    func evaluate(share: Int, bytes: UnsafePointer<UInt8>, as records: Range<Int>) {
        if records.isEmpty { return }
        let (outputs, leaves) = results(of: records)
        model.predictBatch(UnsafeBufferPointer(start: bytes, count: records.count * model.inputWidth),
                           into: outputs, leaves: leaves, workspace: workspaces[share], input: inputForm)
    }

    /// The block's outputs and leaves of records `records`.
    private func results(of records: Range<Int>) -> (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Int32>) {
        let outputWidth = model.outputWidth
        return (UnsafeMutableBufferPointer(rebasing: outputs[records.lowerBound * outputWidth ..< records.upperBound * outputWidth]),
                UnsafeMutableBufferPointer(rebasing: leaves[records]))
    }

    /// Evaluates records `0 ..< count` of the block: ``evaluate(_:then:)`` of `0 ..< count`.
    func evaluate(count: Int, then: (Int, Range<Int>) -> Void) {
        evaluate(0 ..< count, then: then)
    }

    /// Evaluates records `records` of the block into ``outputs`` and ``leaves``; then, on the
    /// thread that evaluated them, calls `then(share, range)` for each share (share 0 on the
    /// calling thread, shares in record order). `then` must write only to memory of its own
    /// share. A part of a block (records read so far, when the input pauses) is evaluated the
    /// same way as a whole one.
    func evaluate(_ records: Range<Int>, then: (Int, Range<Int>) -> Void) {
        precondition(records.lowerBound >= 0 && records.upperBound <= blockCapacity,
                     "records \(records) of a block of \(blockCapacity)")
        let count = records.count
        if count == 0 { return }
        let first = records.lowerBound
        let shares = min(threadCount, max(1, count / Self.minimumShare))
        func work(_ share: Int) {
            let range = (first + share * count / shares) ..< (first + (share + 1) * count / shares)
            self.evaluate(share: share, range)
            then(share, range)
        }
        if let pool, shares > 1 {
            pool.run(shares, work)
        } else {
            work(0)
        }
    }
}
