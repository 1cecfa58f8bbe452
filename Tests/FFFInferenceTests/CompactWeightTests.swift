import CFFFKernels
import FFFFormat
import FFFTestSupport
import Testing
@testable import FFFInference

/// Compact weights (format 1.1: float16, bfloat16, int8-row) through every kernel path and every
/// allowed pair of weight and node types, against the float64 reference of the decoded weights
/// (§14.3 tolerances: near-ties excluded from leaf checks, outputs compared on the reference's
/// leaf); single and batched calls bitwise identical; the packed model holds the compact bytes,
/// not a float32 copy; every float16, bfloat16 and int8 value widens exactly on every path.
@Suite struct CompactWeightTests {
    struct Types: CustomTestStringConvertible, Sendable, Hashable {
        var weights: ElementType
        var nodes: ElementType
        var testDescription: String { "\(weights)/\(nodes)" }
    }

    /// Every pair the format allows: float32/float32, or compact weights with any node type.
    static let typePairs: [Types] = [Types(weights: .float32, nodes: .float32)]
        + [ElementType.float16, .bfloat16, .int8Row].flatMap { w in
            ElementType.allCases.map { Types(weights: w, nodes: $0) }
        }

    typealias Shape = RandomModelTests.Shape

    /// Shapes that reach every branch of the kernels: the paper's (fused first master panel),
    /// master leaves wider than a panel and narrower, no master, odd widths (partial vectors and
    /// panels), and a dense one-leaf model (no nodes: node type float32 only).
    static let shapes: [Shape] = [
        Shape(I: 784, O: 10, d: 4, H: 8, M: 8, activation: .relu, prep: true),
        Shape(I: 33, O: 17, d: 3, H: 5, M: 9, activation: .silu, prep: true),
        Shape(I: 17, O: 1, d: 2, H: 7, M: 1, activation: .geluTanh, prep: false),
        Shape(I: 48, O: 33, d: 2, H: 16, M: 16, activation: .relu, prep: false),
        Shape(I: 100, O: 20, d: 6, H: 12, M: 0, activation: .tanh, prep: true),
        Shape(I: 5, O: 3, d: 0, H: 9, M: 0, activation: .gelu, prep: true),
    ]

    static let cases: [(Shape, Types)] = shapes.flatMap { shape in
        typePairs.filter { shape.d > 0 || $0.nodes == .float32 }.map { (shape, $0) }
    }

    @Test(arguments: cases)
    func agreesWithFloat64ReferenceOnEveryPath(shape: Shape, types: Types) throws {
        let source = try RandomModelTests.build(shape, seed: UInt64(shape.I * 7 + shape.d))
            .converted(weightType: types.weights, nodeType: types.nodes)
        #expect(source.weightType == types.weights && source.nodeType == types.nodes)
        let reference = ReferenceEvaluator(model: source)
        let count = 67 // not a multiple of any chunk size, so partial chunks are exercised
        let records = RandomModels.records(count, width: shape.I, scale: 1.5, seed: 9)
        let expected = (0..<count).map { r in reference.evaluate(Array(records[r * shape.I ..< (r + 1) * shape.I])) }
        let nearTies = expected.filter(\.nearTie).count
        if nearTies > 0 { print("\(shape.testDescription) \(types.testDescription): \(nearTies) near-tie record(s) excluded from leaf checks") }

        for kernel in KernelPath.supported {
            let model = InferenceModel(source, kernel: kernel)
            #expect(model.weightType == types.weights && model.nodeType == types.nodes)
            let ws = Workspace(for: model, batchCapacity: 8)
            var single = [Float](repeating: .nan, count: count * shape.O)
            var singleLeaves = [Int](repeating: -1, count: count)
            for r in 0..<count {
                let record = Array(records[r * shape.I ..< (r + 1) * shape.I])
                var out = [Float](repeating: .nan, count: shape.O)
                let leaf = model.predict(record, into: &out, workspace: ws)
                single.replaceSubrange(r * shape.O ..< (r + 1) * shape.O, with: out)
                singleLeaves[r] = leaf
                let ref = expected[r]
                if leaf == ref.leaf || !ref.nearTie {
                    #expect(Agreement.outputsAgree(out, ref.outputs), "\(kernel) \(types.testDescription) record \(r): \(out) vs \(ref.outputs)")
                }
                if !ref.nearTie {
                    #expect(leaf == ref.leaf, "\(kernel) \(types.testDescription) record \(r)")
                    #expect(model.leafIndex(record, workspace: ws) == ref.leaf)
                }
                let c = model.classify(record, workspace: ws)
                #expect(c.leaf == leaf && c.score == out[c.index])
                if !ref.nearTie && !Agreement.argmaxAmbiguous(ref.outputs) {
                    #expect(c.index == ref.argmax, "\(kernel) \(types.testDescription) record \(r)")
                }
            }
            for capacity in [1, 3, 8, 64] {
                let bws = Workspace(for: model, batchCapacity: capacity)
                let (outputs, leaves) = model.predictBatch(records, workspace: bws)
                #expect(outputs.map(\.bitPattern) == single.map(\.bitPattern), "\(kernel) \(types.testDescription) batch capacity \(capacity)")
                #expect(leaves == singleLeaves, "\(kernel) \(types.testDescription) batch capacity \(capacity)")
            }
        }
    }

    /// The packed model holds its weights in their own type: half the bytes of the float32
    /// packing for 2-byte types, about a quarter for int8-row (scales and biases stay float32),
    /// and never a float32 copy beside them.
    @Test(arguments: typePairs)
    func packedBytesAreCompact(types: Types) throws {
        let shape = Self.shapes[0]
        let float32 = try RandomModelTests.build(shape, seed: 3)
        let compact = try float32.converted(weightType: types.weights, nodeType: types.nodes)
        let full = InferenceModel(float32, kernel: .portable).packedByteCount
        let packed = InferenceModel(compact, kernel: .portable).packedByteCount
        let bytes: (ElementType) -> Double = { InferenceModel.elementSize($0) == 4 ? 1 : InferenceModel.elementSize($0) == 2 ? 0.5 : 0.25 }
        // Nodes are 15 of the 159 rows of 784 weights; the rest (biases, scales, prep) ~2 %.
        let expected = (Double(15) * bytes(types.nodes) + 144 * bytes(types.weights)) / 159
        let ratio = Double(packed) / Double(full)
        print("\(types.testDescription): \(packed) bytes packed, \(String(format: "%.3f", ratio)) of float32")
        #expect(ratio <= expected + 0.03, "\(types.testDescription): \(packed) of \(full) bytes")
        #expect(ratio >= expected - 0.01)
    }

    /// One workspace serves models of every type in turn (and of other widths) with the results
    /// a fresh workspace gives, bit for bit.
    @Test(arguments: KernelPath.supported)
    func workspaceReusedAcrossTypes(kernel: KernelPath) throws {
        let shape = Self.shapes[1]
        let base = try RandomModelTests.build(shape, seed: 21)
        let models = try Self.typePairs.map { InferenceModel(try base.converted(weightType: $0.weights, nodeType: $0.nodes), kernel: kernel) }
        let wide = InferenceModel(try RandomModels.model(inputWidth: 64, outputWidth: 40, depth: 2, leafWidth: 20,
                                                         masterWidth: 12, seed: 5).converted(weightType: .int8Row), kernel: kernel)
        let shared = wide.makeWorkspace()
        let records = RandomModels.records(13, width: shape.I, seed: 17)
        let fresh = models.map { $0.predictBatch(records, workspace: $0.makeWorkspace()).outputs }
        for round in 0..<2 {
            for (k, model) in models.enumerated() {
                _ = wide.predictBatch([Float](repeating: .nan, count: 64 * 3), workspace: shared)
                _ = wide.predict([Float](repeating: .infinity, count: 64), workspace: shared)
                var single = [Float]()
                for r in 0..<13 {
                    single += model.predict(Array(records[r * shape.I ..< (r + 1) * shape.I]), workspace: shared)
                }
                #expect(single.map(\.bitPattern) == fresh[k].map(\.bitPattern), "round \(round) \(Self.typePairs[k].testDescription)")
                let batch = model.predictBatch(records, workspace: shared).outputs
                #expect(batch.map(\.bitPattern) == fresh[k].map(\.bitPattern), "round \(round) \(Self.typePairs[k].testDescription) batch")
            }
        }
    }

    /// The portable path's conversions, exposed by the C module, against Swift's for every
    /// 16-bit pattern (the reader rejects infinities and NaNs, but they convert too).
    @Test func portableConversionsAreExactForEveryPattern() {
        let patterns = (0...UInt16.max).map { $0 }
        var halves = [Float](repeating: .nan, count: patterns.count)
        var brains = [Float](repeating: .nan, count: patterns.count)
        fff_float16_to_float32(patterns, &halves, Int64(patterns.count))
        fff_bfloat16_to_float32(patterns, &brains, Int64(patterns.count))
        var halfMismatches = 0, brainMismatches = 0
        for p in patterns {
            let half = Float16(bitPattern: p)
            if half.isFinite && halves[Int(p)].bitPattern != Float(half).bitPattern { halfMismatches += 1 }
            if brains[Int(p)].bitPattern != UInt32(p) << 16 { brainMismatches += 1 }
        }
        #expect(halfMismatches == 0)
        #expect(brainMismatches == 0)
    }

    /// A one-leaf model of two units, `out = (sum_i w_i x_i, -sum_i w_i x_i)` (identity
    /// activation, identity output weights), read with one-hot records, gives back each weight
    /// and its negation exactly: every finite float16 and bfloat16 value (subnormals and -0
    /// included) is widened exactly by every path's kernels, at every position of the panel
    /// layout, in both halves of a bfloat16 pair.
    @Test(arguments: KernelPath.supported, [ElementType.float16, .bfloat16])
    func everyHalfValueWidensExactly(kernel: KernelPath, type: ElementType) throws {
        let patterns = (0...UInt16.max).filter { p in
            type == .float16 ? (p & 0x7C00) != 0x7C00 : (p & 0x7F80) != 0x7F80
        }
        let values: [Float] = patterns.map { p in
            type == .float16 ? Float(Float16(bitPattern: p)) : Float(bitPattern: UInt32(p) << 16)
        }
        let width = 2048
        var mismatches = 0
        for start in stride(from: 0, to: values.count, by: width) {
            let chunk = Array(values[start ..< min(start + width, values.count)])
            let I = chunk.count
            let model = InferenceModel(try FFFModel(
                inputWidth: I, outputWidth: 2, depth: 0, leafWidth: 2, activation: .identity,
                nodeWeights: [], nodeBiases: [], leafHiddenWeights: chunk.flatMap { [$0, -$0] },
                leafHiddenBiases: [0, 0], leafOutputWeights: [1, 0, 0, 1], leafOutputBiases: [0, 0],
                weightType: type), kernel: kernel)
            var records = [Float](repeating: 0, count: I * I)
            for r in 0..<I { records[r * I + r] = 1 }
            let outputs = model.predictBatch(records, workspace: model.makeWorkspace()).outputs
            for r in 0..<I {
                for (got, want) in [(outputs[2 * r], chunk[r]), (outputs[2 * r + 1], -chunk[r])]
                where got.bitPattern != want.bitPattern && !(got == 0 && want == 0) {
                    mismatches += 1
                }
            }
        }
        #expect(mismatches == 0, "\(kernel) \(type): \(mismatches) of \(2 * values.count) values")
    }

    /// Every int8 value -127 ... 127 through every path: unit = scale * q, then the output row.
    @Test(arguments: KernelPath.supported)
    func everyInt8ValueWidensExactly(kernel: KernelPath) throws {
        let qs = (-127...127).map { Float($0) }
        let I = qs.count
        let source = try FFFModel(
            inputWidth: I, outputWidth: 1, depth: 0, leafWidth: 1, activation: .identity,
            nodeWeights: [], nodeBiases: [], leafHiddenWeights: qs.map { $0 * 0.013 }, leafHiddenBiases: [0],
            leafOutputWeights: [0.7], leafOutputBiases: [0], weightType: .int8Row)
        let q1 = source.int8Values(of: .leafHidden)!, s1 = source.rowScales.leafHidden[0]
        let q2 = source.int8Values(of: .leafOutput)!, s2 = source.rowScales.leafOutput[0]
        #expect(q1.map { Float($0) } == qs, "the row's maximum maps to 127, so q is the index")
        let model = InferenceModel(source, kernel: kernel)
        var records = [Float](repeating: 0, count: I * I)
        for r in 0..<I { records[r * I + r] = 1 }
        let outputs = model.predictBatch(records, workspace: model.makeWorkspace()).outputs
        for r in 0..<I {
            // Float32 as the kernels compute: h = (q * 1) * s1; y = (h * q2) * s2 + 0.
            let h = Float(q1[r]) * s1
            let y = (h * Float(q2[0])) * s2
            #expect(outputs[r] == y, "\(kernel) q \(q1[r]): \(outputs[r]) vs \(y)")
        }
    }
}
