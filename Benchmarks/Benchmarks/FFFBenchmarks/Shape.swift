import FastFeedforward

/// One benchmarked network: an FFF of `2^depth` leaves of width `leafWidth` (depth 0 with a wide
/// leaf is a dense layer of that width), random weights from a fixed seed.
struct Shape: Sendable {
    var inputWidth: Int
    var outputWidth: Int
    var depth: Int
    var leafWidth: Int
    var masterWidth: Int

    /// A dense one-hidden-layer network of `width` relu units: the FFF machinery with one leaf.
    static func dense(_ input: Int, _ output: Int, width: Int) -> Shape {
        Shape(inputWidth: input, outputWidth: output, depth: 0, leafWidth: width, masterWidth: 0)
    }

    var isDense: Bool { depth == 0 }

    /// Multiply-adds per record: d node dot products, the leaf MLP, the master leaf MLP.
    var multiplyAdds: Int {
        depth * inputWidth + leafWidth * (inputWidth + outputWidth) + masterWidth * (inputWidth + outputWidth)
    }

    var name: String {
        let head = "\(inputWidth)-\(outputWidth)"
        if isDense { return "\(head) dense\(leafWidth)" }
        return "\(head) d\(depth) l\(leafWidth)" + (masterWidth > 0 ? " m\(masterWidth)" : "")
    }

    /// Random weights of the usual scale (1/sqrt(fan-in)); MNIST-shaped models get the MNIST
    /// preprocessing so that records can be raw pixel values.
    func makeModel(seed: UInt64) throws -> FFFModel {
        var rng = SplitMix64(seed: seed)
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        let I = inputWidth, O = outputWidth, H = leafWidth, M = masterWidth
        let L = 1 << depth, N = L - 1
        let wi = 1 / Float(I).squareRoot()
        let master = M > 0 ? MasterLeaf(width: M, hiddenWeights: values(I * M, wi), hiddenBiases: values(M, 0.1),
                                        outputWeights: values(M * O, 0.3), outputBiases: values(O, 0.1),
                                        mixingLogit: 0.5) : nil
        return try FFFModel(
            inputWidth: I, outputWidth: O, depth: depth, leafWidth: H, activation: .relu,
            preprocessing: I == 784 ? Preprocessing(scale: 2 / 255, offset: -1) : nil,
            nodeWeights: values(N * I, wi), nodeBiases: values(N, 0.1),
            leafHiddenWeights: values(L * I * H, wi), leafHiddenBiases: values(L * H, 0.1),
            leafOutputWeights: values(L * H * O, 1 / Float(H).squareRoot()), leafOutputBiases: values(L * O, 0.1),
            masterLeaf: master)
    }
}

/// SplitMix64, so that every run benchmarks the same weights and records.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
