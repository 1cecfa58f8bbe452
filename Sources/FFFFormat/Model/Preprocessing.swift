/// The input preprocessing of spec/FORMAT.md §8: `x[i] = raw[i] * scale[i] + offset[i]`.
/// One scale and offset for every feature (`count == 1`) or one per feature.
public struct Preprocessing: Sendable, Equatable {
    /// One value, or one per input feature.
    public let scale: [Float]
    /// Same count as `scale`.
    public let offset: [Float]

    /// Scalar preprocessing: every feature is mapped by the same `scale` and `offset`.
    public init(scale: Float, offset: Float) {
        self.scale = [scale]
        self.offset = [offset]
    }

    /// Per-feature (or, with one element each, scalar) preprocessing. The arrays must have equal,
    /// nonzero counts; `FFFModel` checks that the count is 1 or the input width.
    public init(scale: [Float], offset: [Float]) {
        self.scale = scale
        self.offset = offset
    }

    /// True when one scale and offset apply to every feature.
    public var isScalar: Bool { scale.count == 1 }
}
