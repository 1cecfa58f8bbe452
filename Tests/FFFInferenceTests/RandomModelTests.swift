import FFFTestSupport
import FFFFormat
import Testing
@testable import FFFInference

/// Random models of many shapes against the float64 ``ReferenceEvaluator``, through every kernel
/// path, single and batched, Array and unsafe entry points.
@Suite struct RandomModelTests {
    struct Shape: CustomTestStringConvertible, Sendable {
        var I, O, d, H, M: Int
        var activation: Activation
        var prep: Bool
        var testDescription: String { "\(I)->\(O) d\(d) H\(H) M\(M) \(activation)\(prep ? " prep" : "")" }
    }

    static let shapes: [Shape] = [
        Shape(I: 784, O: 10, d: 4, H: 8, M: 8, activation: .relu, prep: true),  // the paper's
        Shape(I: 1, O: 1, d: 0, H: 1, M: 0, activation: .identity, prep: false),
        Shape(I: 5, O: 3, d: 1, H: 3, M: 0, activation: .gelu, prep: true),
        Shape(I: 17, O: 1, d: 2, H: 7, M: 1, activation: .geluTanh, prep: false),
        Shape(I: 33, O: 17, d: 3, H: 5, M: 9, activation: .silu, prep: true),
        Shape(I: 64, O: 16, d: 5, H: 1, M: 2, activation: .sigmoid, prep: false),
        Shape(I: 100, O: 20, d: 6, H: 12, M: 0, activation: .tanh, prep: true),
        Shape(I: 48, O: 33, d: 2, H: 16, M: 16, activation: .relu, prep: false),
    ]

    static func build(_ s: Shape, seed: UInt64) throws -> FFFModel {
        var rng = SplitMix64(seed: seed &+ 99)
        let prep = s.prep ? Preprocessing(scale: RandomModels.values(s.I, scale: 2, using: &rng),
                                          offset: RandomModels.values(s.I, scale: 1, using: &rng)) : nil
        return try RandomModels.model(inputWidth: s.I, outputWidth: s.O, depth: s.d, leafWidth: s.H,
                                      masterWidth: s.M, activation: s.activation, preprocessing: prep, seed: seed)
    }

    @Test(arguments: shapes)
    func agreesWithFloat64Reference(shape: Shape) throws {
        let source = try Self.build(shape, seed: UInt64(shape.I * 31 + shape.d))
        let reference = ReferenceEvaluator(model: source)
        let count = 67 // not a multiple of any chunk size, so partial chunks are exercised
        let records = RandomModels.records(count, width: shape.I, scale: 1.5, seed: 5)
        let expected = (0..<count).map { r in reference.evaluate(Array(records[r * shape.I ..< (r + 1) * shape.I])) }
        let nearTies = expected.filter(\.nearTie).count
        if nearTies > 0 { print("\(shape.testDescription): \(nearTies) near-tie record(s) excluded from leaf checks") }

        for kernel in KernelPath.supported {
            let model = InferenceModel(source, kernel: kernel)
            #expect(model.kernel == kernel)
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
                // §14.3: outputs are compared where the leaf matches (a near-tie may take the other).
                if leaf == ref.leaf || !ref.nearTie {
                    #expect(Agreement.outputsAgree(out, ref.outputs), "\(kernel) record \(r): \(out) vs \(ref.outputs)")
                }
                if !ref.nearTie {
                    #expect(leaf == ref.leaf, "\(kernel) record \(r)")
                    #expect(model.leafIndex(record, workspace: ws) == ref.leaf)
                }
                let c = model.classify(record, workspace: ws)
                #expect(c.leaf == leaf)
                #expect(c.score == out[c.index])
                if !ref.nearTie && !Agreement.argmaxAmbiguous(ref.outputs) {
                    #expect(c.index == ref.argmax, "\(kernel) record \(r)")
                }
                // The unsafe entry point gives the same bits as the Array one.
                record.withUnsafeBufferPointer { rp in
                    var again = [Float](repeating: .nan, count: shape.O)
                    again.withUnsafeMutableBufferPointer { op in
                        #expect(model.predict(rp, into: op, workspace: ws) == leaf)
                    }
                    #expect(again.map(\.bitPattern) == out.map(\.bitPattern))
                }
            }
            // Batched, with several chunk sizes: bitwise equal to one-at-a-time on the same path.
            for capacity in [1, 3, 8, 64] {
                let bws = Workspace(for: model, batchCapacity: capacity)
                let (outputs, leaves) = model.predictBatch(records, workspace: bws)
                #expect(outputs.map(\.bitPattern) == single.map(\.bitPattern), "\(kernel) batch capacity \(capacity)")
                #expect(leaves == singleLeaves, "\(kernel) batch capacity \(capacity)")
            }
            // The unsafe batch entry point, without leaves.
            var outputs = [Float](repeating: .nan, count: count * shape.O)
            records.withUnsafeBufferPointer { rp in
                outputs.withUnsafeMutableBufferPointer { op in
                    model.predictBatch(rp, into: op, workspace: ws)
                }
            }
            #expect(outputs.map(\.bitPattern) == single.map(\.bitPattern))
        }
    }

    /// `.preprocessed` skips the model's preprocessing: feeding x directly gives what feeding raw does.
    @Test(arguments: KernelPath.supported)
    func preprocessedInputSkipsPreprocessing(kernel: KernelPath) throws {
        let shape = Self.shapes[4]
        let source = try Self.build(shape, seed: 11)
        let model = InferenceModel(source, kernel: kernel)
        let ws = model.makeWorkspace()
        let raw = RandomModels.records(1, width: shape.I, seed: 3)
        let pre = source.preprocessing!
        let x = (0..<shape.I).map { raw[$0] * pre.scale[$0] + pre.offset[$0] }
        let reference = ReferenceEvaluator(model: source).evaluate(x, applyPreprocessing: false)
        // §14.3 compares outputs only on the reference's leaf: this record must not be a near-tie.
        try #require(!reference.nearTie, "the record is a near-tie: choose another seed")
        let out = model.predict(x, workspace: ws, input: .preprocessed)
        #expect(Agreement.outputsAgree(out, reference.outputs))
        let viaRaw = model.predict(raw, workspace: ws)
        #expect(Agreement.outputsAgree(viaRaw, reference.outputs))
        // And the batch form honours it too.
        #expect(model.predictBatch(x, workspace: ws, input: .preprocessed).outputs.map(\.bitPattern) == out.map(\.bitPattern))
    }

    /// One workspace sized for a wide model serves a narrower one, even after the wide one left
    /// non-finite values where the narrow model's padding is.
    @Test func workspaceSharedAcrossWidths() throws {
        let wide = InferenceModel(try RandomModels.model(inputWidth: 40, outputWidth: 20, depth: 2, leafWidth: 9,
                                                         masterWidth: 3, seed: 1))
        let narrowSource = try RandomModels.model(inputWidth: 19, outputWidth: 3, depth: 3, leafWidth: 2,
                                                  masterWidth: 0, seed: 2)
        let narrow = InferenceModel(narrowSource)
        let ws = wide.makeWorkspace()
        #expect(ws.fits(narrow))
        #expect(!narrow.makeWorkspace().fits(wide))
        _ = wide.predict([Float](repeating: .infinity, count: 40), workspace: ws)
        _ = wide.predictBatch([Float](repeating: .nan, count: 40 * 5), workspace: ws)
        let record = RandomModels.records(1, width: 19, seed: 4)
        let ref = ReferenceEvaluator(model: narrowSource).evaluate(record)
        try #require(!ref.nearTie, "the record is a near-tie: choose another seed")
        let out = narrow.predict(record, workspace: ws)
        #expect(Agreement.outputsAgree(out, ref.outputs), "\(out) vs \(ref.outputs)")
        let batch = narrow.predictBatch(record + record, workspace: ws)
        #expect(batch.outputs.map(\.bitPattern) == (out + out).map(\.bitPattern))
    }

    @Test func emptyBatchIsANoOp() throws {
        let model = InferenceModel(try RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 1, leafWidth: 1,
                                                          masterWidth: 0, seed: 1))
        let result = model.predictBatch([], workspace: model.makeWorkspace())
        #expect(result.outputs.isEmpty && result.leaves.isEmpty)
    }

    /// Width mismatches trap with a message (documented precondition), in a child process.
    @Test func wrongRecordWidthTraps() async {
        await #expect(processExitsWith: .failure) {
            let model = InferenceModel(try! RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 1, leafWidth: 1,
                                                               masterWidth: 0, seed: 1))
            _ = model.predict([1, 2], workspace: model.makeWorkspace())
        }
        await #expect(processExitsWith: .failure) {
            let model = InferenceModel(try! RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 1, leafWidth: 1,
                                                               masterWidth: 0, seed: 1))
            _ = model.predictBatch([1, 2, 3, 4], workspace: model.makeWorkspace())
        }
        await #expect(processExitsWith: .failure) {
            let model = InferenceModel(try! RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 1, leafWidth: 1,
                                                               masterWidth: 0, seed: 1))
            var out = [Float](repeating: 0, count: 3)
            model.predict([1, 2, 3], into: &out, workspace: model.makeWorkspace())
        }
    }
}
