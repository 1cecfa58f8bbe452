import FFFFormat
import Foundation

/// A float64 evaluation of spec/FORMAT.md §14, written plainly from the spec and independent of
/// the runtime under test (no shared code, no repacking, canonical layouts only). It is the
/// yardstick for randomly generated models; committed golden files from the numpy reference
/// (tools/pyfff/reference.py) are the yardstick for the fixture models.
struct ReferenceEvaluator {
    struct Result {
        var outputs: [Double]
        var leaf: Int
        /// Some node on the path had |score| <= 1e-5 * (1 + sum |w x| + |b|) (§14.3).
        var nearTie: Bool
        var argmax: Int
    }

    let model: FFFModel
    /// The decoded value of every weight, in float64 (spec 1.1 §14): float32, float16 and
    /// bfloat16 weights widen exactly; an int8-row weight is `Double(scale) * Double(q)`, exact
    /// in float64, computed from the row scales and `int8Values(of:)` rather than from the
    /// model's float32 arrays (which hold it rounded to float32).
    let nodeWeights, leafHiddenWeights, leafOutputWeights, masterHiddenWeights, masterOutputWeights: [Double]

    init(model: FFFModel) {
        self.model = model
        nodeWeights = Self.decoded(model, .nodes)
        leafHiddenWeights = Self.decoded(model, .leafHidden)
        leafOutputWeights = Self.decoded(model, .leafOutput)
        masterHiddenWeights = Self.decoded(model, .masterHidden)
        masterOutputWeights = Self.decoded(model, .masterOutput)
    }

    /// The row of element `index` of `tensor` (the table of format 1.1's int8-row encoding).
    static func row(of index: Int, in tensor: WeightTensor, _ model: FFFModel) -> Int {
        let I = model.inputWidth, O = model.outputWidth, H = model.leafWidth
        let M = model.masterLeaf?.width ?? 1
        switch tensor {
        case .nodes: return index / I                                // [N][I]: node n
        case .leafHidden: return index / (I * H) * H + index % H     // [L][I][H]: a * H + c
        case .leafOutput: return index / (H * O) * O + index % O     // [L][H][O]: a * O + c
        case .masterHidden: return index % M                         // [I][M]: c
        case .masterOutput: return index % O                         // [M][O]: c
        }
    }

    static func decoded(_ model: FFFModel, _ tensor: WeightTensor) -> [Double] {
        let values = model.weights(of: tensor)
        guard model.elementType(of: tensor) == .int8Row, !values.isEmpty else { return values.map(Double.init) }
        let q = model.int8Values(of: tensor)!
        let scales = model.rowScales[tensor]
        precondition(q.count == values.count)
        return q.indices.map { i in Double(scales[row(of: i, in: tensor, model)]) * Double(q[i]) }
    }

    static func activation(_ a: Activation, _ v: Double) -> Double {
        switch a {
        case .identity: return v
        case .relu: return v.isNaN ? v : max(v, 0)
        case .gelu: return v * 0.5 * (1 + erf(v / 2.0.squareRoot()))
        case .geluTanh: return 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
        case .silu: return v / (1 + exp(-v))
        case .sigmoid: return 1 / (1 + exp(-v))
        case .tanh: return tanh(v)
        }
    }

    func evaluate(_ raw: [Float], applyPreprocessing: Bool = true) -> Result {
        let I = model.inputWidth, O = model.outputWidth, H = model.leafWidth
        var x = raw.map(Double.init)
        if applyPreprocessing, let pre = model.preprocessing {
            for i in 0..<I {
                let s = Double(pre.isScalar ? pre.scale[0] : pre.scale[i])
                let o = Double(pre.isScalar ? pre.offset[0] : pre.offset[i])
                x[i] = x[i] * s + o
            }
        }
        var n = 0
        var nearTie = false
        for _ in 0..<model.depth {
            var score = Double(model.nodeBiases[n])
            var magnitude = 1 + abs(Double(model.nodeBiases[n]))
            for i in 0..<I {
                let term = nodeWeights[n * I + i] * x[i]
                score += term
                magnitude += abs(term)
            }
            if abs(score) <= 1e-5 * magnitude { nearTie = true }
            n = score >= 0 ? 2 * n + 2 : 2 * n + 1
        }
        let leaf = n - model.nodeCount
        func mlp(_ w1: (Int, Int) -> Double, _ b1: (Int) -> Float, _ w2: (Int, Int) -> Double,
                 _ b2: (Int) -> Float, _ width: Int) -> [Double] {
            var h = [Double](repeating: 0, count: width)
            for c in 0..<width {
                var sum = Double(b1(c))
                for b in 0..<I { sum += x[b] * w1(b, c) }
                h[c] = Self.activation(model.activation, sum)
            }
            var y = [Double](repeating: 0, count: O)
            for o in 0..<O {
                var sum = Double(b2(o))
                for b in 0..<width { sum += h[b] * w2(b, o) }
                y[o] = sum
            }
            return y
        }
        var out = mlp({ b, c in leafHiddenWeights[(leaf * I + b) * H + c] },
                      { c in model.leafHiddenBiases[leaf * H + c] },
                      { b, o in leafOutputWeights[(leaf * H + b) * O + o] },
                      { o in model.leafOutputBiases[leaf * O + o] }, H)
        if let master = model.masterLeaf {
            let M = master.width
            let m = mlp({ b, c in masterHiddenWeights[b * M + c] }, { c in master.hiddenBiases[c] },
                        { b, o in masterOutputWeights[b * O + o] }, { o in master.outputBiases[o] }, M)
            let s = 1 / (1 + exp(-Double(master.mixingLogit)))
            for o in 0..<O { out[o] = s * out[o] + (1 - s) * m[o] }
        }
        // §14.2: the first NaN if there is one, else the first maximum.
        var best = out.firstIndex { $0.isNaN } ?? 0
        if !out[best].isNaN { for o in 1..<O where out[o] > out[best] { best = o } }
        return Result(outputs: out, leaf: leaf, nearTie: nearTie, argmax: best)
    }
}

/// The agreement rule of spec §14.3 for one record's outputs.
enum Agreement {
    /// Per element `|got - ref| <= atol + rtol * |ref|`, rtol 1e-4, atol 1e-4 * (1 + max |ref|).
    static func outputsAgree(_ got: some Collection<Float>, _ reference: [Double]) -> Bool {
        guard got.count == reference.count else { return false }
        let atol = 1e-4 * (1 + (reference.map { abs($0) }.max() ?? 0))
        for (g, r) in zip(got, reference) {
            if !(abs(Double(g) - r) <= atol + 1e-4 * abs(r)) { return false }
        }
        return true
    }

    /// True when the top two reference outputs are closer than the output tolerance, so a
    /// float32 argmax may legitimately differ.
    static func argmaxAmbiguous(_ reference: [Double]) -> Bool {
        let sorted = reference.sorted(by: >)
        guard sorted.count > 1 else { return false }
        let atol = 1e-4 * (1 + (reference.map { abs($0) }.max() ?? 0))
        return sorted[0] - sorted[1] <= 2 * (atol + 1e-4 * abs(sorted[0]))
    }
}
