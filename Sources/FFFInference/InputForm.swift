/// What the numbers of a record passed to ``InferenceModel`` are.
public enum InputForm: Sendable, Hashable {
    /// Raw features, as the user has them (for MNIST: pixel values 0 ... 255). The model's
    /// preprocessing `x = raw * scale + offset` (spec §8) is applied first. The default.
    case raw
    /// Features already preprocessed (`x` itself): the model's preprocessing is skipped.
    /// For a model without preprocessing both forms are the same.
    case preprocessed
}
