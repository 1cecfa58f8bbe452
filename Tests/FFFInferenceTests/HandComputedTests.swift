import FFFFormat
import Testing
@testable import FFFInference

/// Small models whose outputs are worked out by hand in the comments, run through every kernel
/// path this machine supports.
@Suite struct HandComputedTests {
    /// I=2, O=2, depth 1, H=1, relu. Node: w=(1,-1), b=0.
    /// Leaf 0: h = relu(x0), y = (h, 2h). Leaf 1: h = relu(x1 + 0.5), y = (1 - h, 1 + h).
    static func tinyModel(master: Bool = false, preprocessing: Preprocessing? = nil) throws -> FFFModel {
        try FFFModel(
            inputWidth: 2, outputWidth: 2, depth: 1, leafWidth: 1, activation: .relu,
            preprocessing: preprocessing,
            nodeWeights: [1, -1], nodeBiases: [0],
            leafHiddenWeights: [1, 0, /* leaf 1 */ 0, 1], leafHiddenBiases: [0, 0.5],
            leafOutputWeights: [1, 2, /* leaf 1 */ -1, 1], leafOutputBiases: [0, 0, 1, 1],
            // Master: h = relu(x0 + x1), m = (h, 0); k = 0 so s = 1/2.
            masterLeaf: master ? MasterLeaf(width: 1, hiddenWeights: [1, 1], hiddenBiases: [0],
                                            outputWeights: [1, 0], outputBiases: [0, 0], mixingLogit: 0) : nil)
    }

    @Test(arguments: KernelPath.supported)
    func descentAndLeaves(kernel: KernelPath) throws {
        let model = InferenceModel(try Self.tinyModel(), kernel: kernel)
        let ws = model.makeWorkspace()
        // x = (3, 1): score 2 >= 0 -> right, leaf 1: h = 1.5, y = (-0.5, 2.5).
        var out = [Float](repeating: .nan, count: 2)
        #expect(model.predict([3, 1], into: &out, workspace: ws) == 1)
        #expect(out == [-0.5, 2.5])
        // x = (1, 3): score -2 -> left, leaf 0: h = 1, y = (1, 2).
        #expect(model.predict([1, 3], into: &out, workspace: ws) == 0)
        #expect(out == [1, 2])
        // x = (2, 2): score exactly 0 goes right (score >= 0): h = 2.5, y = (-1.5, 3.5).
        #expect(model.predict([2, 2], into: &out, workspace: ws) == 1)
        #expect(out == [-1.5, 3.5])
        // Leaf 0 with a negative hidden sum: x = (-1, 0): score -1 -> left, h = relu(-1) = 0, y = (0, 0).
        #expect(model.predict([-1, 0], workspace: ws) == [0, 0])
        #expect(model.classify([3, 1], workspace: ws) == Classification(index: 1, score: 2.5, leaf: 1))
        #expect(model.classify([1, 3], workspace: ws) == Classification(index: 1, score: 2, leaf: 0))
        #expect(model.leafIndex([1, 3], workspace: ws) == 0)
        #expect(model.leafIndex([3, 1], workspace: ws) == 1)
    }

    @Test(arguments: KernelPath.supported)
    func masterLeafAndPreprocessing(kernel: KernelPath) throws {
        // raw (2, 1) -> x = raw * 2 - 1 = (3, 1): leaf 1, y = (-0.5, 2.5); master h = 4, m = (4, 0);
        // out = 0.5 y + 0.5 m = (1.75, 1.25).
        let model = InferenceModel(try Self.tinyModel(master: true, preprocessing: Preprocessing(scale: 2, offset: -1)),
                                   kernel: kernel)
        let ws = model.makeWorkspace()
        #expect(model.hasPreprocessing)
        #expect(model.predict([2, 1], workspace: ws) == [1.75, 1.25])
        #expect(model.predict([3, 1], workspace: ws, input: .preprocessed) == [1.75, 1.25])
        // Per-feature preprocessing: x = (raw0 * 1 + 2, raw1 * -1 + 0) = (3, 1) for raw (1, -1).
        let perFeature = InferenceModel(
            try Self.tinyModel(master: true, preprocessing: Preprocessing(scale: [1, -1], offset: [2, 0])), kernel: kernel)
        #expect(perFeature.predict([1, -1], workspace: perFeature.makeWorkspace()) == [1.75, 1.25])
        // Arrays equal in every feature behave as the scalar; arrays that differ in only the
        // offset or only the scale of the last feature must not be read as one scale and offset
        // (the kernels' uniform fast path). Each maps its raw record to x = (3, 1).
        for (prep, raw) in [(Preprocessing(scale: [2, 2], offset: [-1, -1]), [Float(2), 1]),
                            (Preprocessing(scale: [2, 2], offset: [-1, -3]), [2, 2]),
                            (Preprocessing(scale: [2, 1], offset: [-1, -1]), [2, 2])] {
            let m = InferenceModel(try Self.tinyModel(master: true, preprocessing: prep), kernel: kernel)
            #expect(m.predict(raw, workspace: m.makeWorkspace()) == [1.75, 1.25], "\(prep)")
            #expect(m.predictBatch(raw + raw, workspace: m.makeWorkspace()).outputs == [1.75, 1.25, 1.75, 1.25],
                    "\(prep)")
        }
        // Batched: the same three records in one call.
        let batch = model.predictBatch([2, 1, 1, 2, 1.5, 1.5], workspace: ws)
        // raw (1, 2) -> x = (1, 3): leaf 0, y = (1, 2); master h = 4, m = (4, 0); out = (2.5, 1).
        // raw (1.5, 1.5) -> x = (2, 2): leaf 1, h = 2.5, y = (-1.5, 3.5); m = (4, 0); out = (1.25, 1.75).
        #expect(batch.outputs == [1.75, 1.25, 2.5, 1, 1.25, 1.75])
        #expect(batch.leaves == [1, 0, 1])
    }

    /// A NaN score compares false and goes left (2n + 1) at every level: leaf 0. Without a master
    /// leaf and with one of 8 units (whose evaluation is fused with the descent).
    @Test(arguments: KernelPath.supported, [0, 8])
    func nanScoreGoesLeft(kernel: KernelPath, masterWidth: Int) throws {
        let model = InferenceModel(try RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 3, leafWidth: 2,
                                                          masterWidth: masterWidth, seed: 7), kernel: kernel)
        let ws = model.makeWorkspace()
        #expect(model.leafIndex([.nan, 0, 0], workspace: ws) == 0)
        var out = [Float](repeating: 0, count: 2)
        #expect(model.predict([0, .nan, 0], into: &out, workspace: ws) == 0)
        #expect(model.classify([0, 0, .nan], workspace: ws).leaf == 0)
        let batch = model.predictBatch([.nan, 1, 1, 1, .nan, 1], workspace: ws)
        #expect(batch.leaves == [0, 0])
    }

    /// Every activation of §7.1 through a depth-0 model computing out = act(x), against
    /// independently known values and the float64 definitions.
    @Test(arguments: KernelPath.supported)
    func activations(kernel: KernelPath) throws {
        // Known values (float64): gelu(1) = Phi(1) = 0.841344746068543, gelu-tanh(1) = 0.841191990608276,
        // silu(1) = 1/(1+e^-1) = 0.731058578630005, sigmoid(-2) = 0.119202922022118, tanh(0.5) = 0.462117157260010.
        let known: [(Activation, Float, Double)] = [
            (.identity, -1.25, -1.25), (.relu, -1.25, 0), (.relu, 2, 2),
            (.gelu, 1, 0.841344746068543), (.gelu, -1, -0.158655253931457),
            (.geluTanh, 1, 0.841191990608276), (.silu, 1, 0.731058578630005),
            (.sigmoid, -2, 0.119202922022118), (.tanh, 0.5, 0.462117157260010),
        ]
        for (activation, x, expected) in known {
            let model = InferenceModel(try Self.identityModel(activation), kernel: kernel)
            let out = model.predict([x], workspace: model.makeWorkspace())[0]
            #expect(abs(Double(out) - expected) <= 2e-7 * max(1, abs(expected)), "\(activation)(\(x)) = \(out), expected \(expected)")
        }
        for activation in Activation.allCases {
            let model = InferenceModel(try Self.identityModel(activation), kernel: kernel)
            let ws = model.makeWorkspace()
            for x: Float in [-6, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 6] {
                let out = model.predict([x], workspace: ws)[0]
                let expected = ReferenceEvaluator.activation(activation, Double(x))
                #expect(abs(Double(out) - expected) <= 1e-6 * max(1, abs(expected)), "\(activation)(\(x)) = \(out), expected \(expected)")
            }
        }
    }

    static func identityModel(_ activation: Activation) throws -> FFFModel {
        try FFFModel(inputWidth: 1, outputWidth: 1, depth: 0, leafWidth: 1, activation: activation,
                     nodeWeights: [], nodeBiases: [], leafHiddenWeights: [1], leafHiddenBiases: [0],
                     leafOutputWeights: [1], leafOutputBiases: [0])
    }

    @Test func classificationArgmaxRules() {
        func argmax(_ v: [Float]) -> Int { v.withUnsafeBufferPointer { Classification(scores: $0, leaf: 0).index } }
        #expect(argmax([1, 3, 3, 2]) == 1) // smallest index of the greatest
        #expect(argmax([-1]) == 0)
        #expect(argmax([1, .nan, 5]) == 1) // NaN counts as greatest, as numpy's argmax
        #expect(argmax([.nan, 5]) == 0)
        #expect(argmax([-.infinity, -5]) == 1)
    }
}
