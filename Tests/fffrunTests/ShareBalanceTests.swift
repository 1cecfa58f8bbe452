import Testing
@testable import fffrun

/// How binary rounds are divided: equal parts until every thread was timed, then parts in
/// proportion to speed, each speed counted within half and twice the mean; the parts always
/// cover the records in order.
@Suite struct ShareBalanceTests {
    /// The part sizes `split` gives for `count` records.
    private func parts(_ balance: ShareBalance, _ count: Int, shares: Int) -> [Int] {
        let first = UnsafeMutableBufferPointer<Int>.allocate(capacity: shares)
        defer { first.deallocate() }
        balance.split(count, shares: shares, into: first)
        return (0..<shares).map { ($0 + 1 < shares ? first[$0 + 1] : count) - first[$0] }
    }

    /// One round's timings: share `s` took `ns[s]` nanoseconds for `records[s]` records.
    private func learn(_ balance: ShareBalance, ns: [Int], records: [Int]) {
        for (share, time) in ns.enumerated() { balance.elapsed[share] = time }
        balance.learn(shares: ns.count) { records[$0] }
    }

    @Test func equalUntilEveryThreadWasTimed() {
        let balance = ShareBalance(threads: 3)
        #expect(parts(balance, 1337, shares: 3) == [445, 446, 446])
        learn(balance, ns: [1000, 0, 0], records: [445, 0, 0])
        #expect(parts(balance, 1337, shares: 3) == [445, 446, 446])
        #expect(parts(balance, 1337, shares: 1) == [1337])
    }

    @Test func partsFollowTheSpeeds() {
        let balance = ShareBalance(threads: 2)
        // Thread 1 takes 1.25 times as long per record: 5/9 and 4/9 of the records.
        learn(balance, ns: [400_000, 500_000], records: [1000, 1000])
        #expect(parts(balance, 900, shares: 2) == [500, 400])
        // A running average: one round at equal speed moves a quarter of the way.
        learn(balance, ns: [400_000, 400_000], records: [1000, 1000])
        let p = parts(balance, 9000, shares: 2)
        #expect(p[0] > 4500 && p[0] < 5000 && p.reduce(0, +) == 9000, "\(p)")
        // Parts too small to time are left out.
        learn(balance, ns: [1, 1_000_000_000], records: [10, 10])
        #expect(parts(balance, 9000, shares: 2) == p)
    }

    @Test func speedsCountWithinHalfAndTwiceTheMean() {
        let balance = ShareBalance(threads: 3)
        learn(balance, ns: [1_000, 1_000, 1_000_000], records: [100, 100, 100])
        let p = parts(balance, 7000, shares: 3)
        // Speeds 0.1, 0.1 and 0.0001 per ns, mean 0.0667: the slow one counts as 0.0333, so
        // the parts are 3/7, 3/7 and 1/7 (1000 to 1: 2997, 2997 and 6).
        #expect(p == [3000, 3000, 1000], "\(p)")
        for count in [0, 1, 2, 5, 47] {
            let small = parts(balance, count, shares: 3)
            #expect(small.reduce(0, +) == count && small.allSatisfy { $0 >= 0 }, "\(count): \(small)")
        }
    }
}
