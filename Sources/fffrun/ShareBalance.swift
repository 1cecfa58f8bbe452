/// How a round of binary records is divided among threads: in proportion to each thread's
/// recent speed, so that a thread the machine slows down for a while (another process on its
/// core, a hypervisor's other guest) does not leave the others waiting at the end of every
/// round. Speeds are measured on the rounds themselves; results do not depend on the division.
///
/// (Measured on 1,000,000 MNIST records, `eval --threads 2`, 2 vCPUs: with equal parts one
/// thread spent 7 % longer on its parts than the other over a whole run, the faster one
/// waiting that long; which thread was slower changed from run to run.)
///
/// Memory: two numbers per thread, allocated once. Not thread-safe: the calling thread splits
/// and measures; each share writes only its own elapsed time.
final class ShareBalance {
    /// Per thread, the nanoseconds it spent on its last part, written by the thread itself.
    let elapsed: UnsafeMutableBufferPointer<Int>
    /// Per thread, a running average of its nanoseconds per record; 0 before a first measurement.
    private let nanosecondsPerRecord: UnsafeMutableBufferPointer<Double>
    /// The weight of the newest measurement in the running average.
    static let newestWeight = 0.25
    /// No thread's speed counts for less than half, or more than twice, the threads' mean speed
    /// (a thread slowed for a moment still gets a fair part next time).
    static let maxSkew = 2.0

    init(threads: Int) {
        elapsed = .allocate(capacity: threads)
        elapsed.initialize(repeating: 0)
        nanosecondsPerRecord = .allocate(capacity: threads)
        nanosecondsPerRecord.initialize(repeating: 0)
    }

    deinit {
        elapsed.deallocate()
        nanosecondsPerRecord.deallocate()
    }

    /// Sets `first[0 ..< shares]` to the first record of each share's part of `count` records:
    /// consecutive parts, sized in proportion to the threads' speeds (equal until each was
    /// measured; see ``maxSkew``). O(shares).
    func split(_ count: Int, shares: Int, into first: UnsafeMutableBufferPointer<Int>) {
        var measured = true
        for share in 0..<shares where nanosecondsPerRecord[share] <= 0 { measured = false }
        if !measured || shares == 1 {
            for share in 0..<shares { first[share] = share * count / shares }
            return
        }
        var mean = 0.0
        for share in 0..<shares { mean += 1 / nanosecondsPerRecord[share] }
        mean /= Double(shares)
        func weight(_ share: Int) -> Double {
            min(max(1 / nanosecondsPerRecord[share], mean / Self.maxSkew), mean * Self.maxSkew)
        }
        var total = 0.0
        for share in 0..<shares { total += weight(share) }
        var before = 0.0
        for share in 0..<shares {
            let at = Int((Double(count) * before / total).rounded())
            first[share] = min(count, max(share == 0 ? 0 : first[share - 1], at))
            before += weight(share)
        }
    }

    /// Takes the round's measurements: share `s` spent `elapsed[s]` nanoseconds on `records(s)`
    /// records. Parts too small to time well are left out. O(shares).
    func learn(shares: Int, records: (Int) -> Int) {
        for share in 0..<shares {
            let count = records(share)
            guard count >= BatchEngine.minimumShare, elapsed[share] > 0 else { continue }
            let sample = Double(elapsed[share]) / Double(count)
            let old = nanosecondsPerRecord[share]
            nanosecondsPerRecord[share] = old > 0 ? old + Self.newestWeight * (sample - old) : sample
        }
    }
}
