#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How records spread over the `L = 2^depth` leaves: the load balance of the tree.
///
/// The normalised entropy is `H / log(L)` with `H = -sum p_j log p_j` over the leaves with
/// records (`p_j` the fraction of records at leaf `j`): 1 when every leaf gets the same share,
/// 0 when one leaf gets everything. A tree of one leaf (`L = 1`) is balanced by definition (1).
/// With no records it is undefined (nil).
struct LeafUsage {
    /// Records per leaf.
    private(set) var counts: [Int]
    /// All records counted.
    private(set) var total = 0

    /// Zero counts for `leafCount` leaves.
    init(leafCount: Int) {
        precondition(leafCount >= 1, "a tree has at least one leaf")
        counts = [Int](repeating: 0, count: leafCount)
    }

    /// Counts the leaves of records. O(leaves.count); no allocation.
    mutating func add(_ leaves: UnsafeBufferPointer<Int32>) {
        counts.withUnsafeMutableBufferPointer { c in
            for leaf in leaves { c[Int(leaf)] += 1 }
        }
        total += leaves.count
    }

    /// `L`.
    var leafCount: Int { counts.count }

    /// The fraction of records at each leaf (all 0 with no records).
    var fractions: [Double] {
        counts.map { total == 0 ? 0 : Double($0) / Double(total) }
    }

    /// Leaves no record reached.
    var unusedLeaves: Int { counts.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

    /// `H / log(L)` in 0 ... 1; 1 for a single leaf; nil when no record was counted.
    var normalizedEntropy: Double? {
        if total == 0 { return nil }
        if counts.count == 1 { return 1 }
        var entropy = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / Double(total)
            entropy -= p * log(p)
        }
        return min(1, max(0, entropy / log(Double(counts.count))))
    }
}
