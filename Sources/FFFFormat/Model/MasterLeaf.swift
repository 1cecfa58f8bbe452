/// The master leaf of spec/FORMAT.md §11: a small MLP every input passes through, mixed with the
/// chosen leaf as `s * leaf + (1 - s) * master` with `s = sigmoid(mixingLogit)`.
public struct MasterLeaf: Sendable, Equatable {
    /// Hidden width `M` (1 ... 2^16).
    public let width: Int
    /// `[I][M]`, row-major: input `b`, hidden unit `c` at `b * M + c`.
    public let hiddenWeights: [Float]
    /// `[M]`.
    public let hiddenBiases: [Float]
    /// `[M][O]`: hidden unit `b`, output `c` at `b * O + c`.
    public let outputWeights: [Float]
    /// `[O]`.
    public let outputBiases: [Float]
    /// The mixing logit `k`; the leaf's share is `sigmoid(k)`.
    public let mixingLogit: Float

    public init(width: Int, hiddenWeights: [Float], hiddenBiases: [Float],
                outputWeights: [Float], outputBiases: [Float], mixingLogit: Float) {
        self.width = width
        self.hiddenWeights = hiddenWeights
        self.hiddenBiases = hiddenBiases
        self.outputWeights = outputWeights
        self.outputBiases = outputBiases
        self.mixingLogit = mixingLogit
    }
}

/// One metadata pair of spec/FORMAT.md §13. Order in a model is the file's order.
public struct MetadataEntry: Sendable, Equatable {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
