import FFFTestSupport
import FFFFormat

/// Random models and records of any shape, for property tests against ``ReferenceEvaluator``.
enum RandomModels {
    static func values(_ count: Int, scale: Float, using rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale...scale, using: &rng) }
    }

    static func model(inputWidth I: Int, outputWidth O: Int, depth d: Int, leafWidth H: Int,
                      masterWidth M: Int, activation: Activation = .relu,
                      preprocessing: Preprocessing? = nil, seed: UInt64) throws -> FFFModel {
        var rng = SplitMix64(seed: seed)
        let L = 1 << d, N = L - 1
        let w = 1 / Float(I).squareRoot()
        var master: MasterLeaf?
        if M > 0 {
            master = MasterLeaf(width: M, hiddenWeights: values(I * M, scale: w, using: &rng),
                                hiddenBiases: values(M, scale: 0.1, using: &rng),
                                outputWeights: values(M * O, scale: 0.5, using: &rng),
                                outputBiases: values(O, scale: 0.1, using: &rng),
                                mixingLogit: Float.random(in: -2...2, using: &rng))
        }
        return try FFFModel(
            inputWidth: I, outputWidth: O, depth: d, leafWidth: H, activation: activation,
            preprocessing: preprocessing,
            nodeWeights: values(N * I, scale: w, using: &rng), nodeBiases: values(N, scale: 0.1, using: &rng),
            leafHiddenWeights: values(L * I * H, scale: w, using: &rng),
            leafHiddenBiases: values(L * H, scale: 0.1, using: &rng),
            leafOutputWeights: values(L * H * O, scale: 0.5, using: &rng),
            leafOutputBiases: values(L * O, scale: 0.1, using: &rng),
            masterLeaf: master)
    }

    static func records(_ count: Int, width: Int, scale: Float = 1, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return values(count * width, scale: scale, using: &rng)
    }
}
