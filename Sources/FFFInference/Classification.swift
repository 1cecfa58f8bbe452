/// The predicted class of one record: the index of the greatest output, that output, and the
/// leaf the record was routed to.
public struct Classification: Sendable, Hashable {
    /// The smallest index `o` with the greatest output (spec §14.2). A NaN output counts as
    /// the greatest, as numpy's and PyTorch's `argmax` have it, so a NaN is never hidden.
    public let index: Int
    /// The output at ``index``.
    public let score: Float
    /// The leaf (`0 ..< 2^depth`) the descent reached.
    public let leaf: Int

    /// A classification from explicit values.
    public init(index: Int, score: Float, leaf: Int) {
        self.index = index
        self.score = score
        self.leaf = leaf
    }

    /// The argmax of `scores` under the rule of ``index``.
    ///
    /// - Precondition: `scores` is not empty.
    /// - Complexity: O(`scores.count`); no allocation.
    public init(scores: UnsafeBufferPointer<Float>, leaf: Int) {
        precondition(!scores.isEmpty, "cannot classify an empty output")
        var best = 0
        var bestScore = scores[0]
        if !bestScore.isNaN {
            for o in 1..<scores.count {
                let value = scores[o]
                if value.isNaN {
                    best = o
                    bestScore = value
                    break
                }
                if value > bestScore {
                    best = o
                    bestScore = value
                }
            }
        }
        self.init(index: best, score: bestScore, leaf: leaf)
    }
}
