import FFFFormat
import FFFTestSupport
import Testing
@testable import FFFInference

/// `predictBatch` over records of unsigned bytes (what `fffrun` hands IDX and raw u8 input to)
/// against the `Float` form on the same values: every kernel path, every pair of weight and node
/// types, with and without preprocessing, both input forms, chunks of the workspace's batch
/// capacity and partial vectors. A byte widens to `Float` exactly, so the two must agree bit for
/// bit (outputs and leaves).
@Suite struct ByteRecordTests {
    typealias Types = CompactWeightTests.Types

    static let cases: [(RandomModelTests.Shape, Types)] = CompactWeightTests.cases

    @Test(arguments: cases)
    func bytesAgreeWithFloatsBitForBit(shape: RandomModelTests.Shape, types: Types) throws {
        let source = try RandomModelTests.build(shape, seed: UInt64(shape.I * 13 + shape.d))
            .converted(weightType: types.weights, nodeType: types.nodes)
        let count = 67  // not a multiple of any chunk size
        var rng = SplitMix64(seed: UInt64(shape.I + 3))
        var bytes = (0..<count * shape.I).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // Every byte value, in every position of a vector, where the records are long enough.
        for i in 0..<min(bytes.count, 256 * 3) { bytes[i] = UInt8(truncatingIfNeeded: i) }
        let floats = bytes.map { Float($0) }
        for kernel in KernelPath.supported {
            let model = InferenceModel(source, kernel: kernel)
            for input in [InputForm.raw, .preprocessed] {
                let ws = Workspace(for: model, batchCapacity: 8)
                let expected = model.predictBatch(floats, workspace: ws, input: input)
                var outputs = [Float](repeating: .nan, count: count * shape.O)
                var leaves = [Int32](repeating: -1, count: count)
                bytes.withUnsafeBufferPointer { b in
                    outputs.withUnsafeMutableBufferPointer { o in
                        leaves.withUnsafeMutableBufferPointer { l in
                            model.predictBatch(b, into: o, leaves: l, workspace: ws, input: input)
                        }
                    }
                }
                let what = "\(kernel) \(types.testDescription) \(input)"
                #expect(outputs.map(\.bitPattern) == expected.outputs.map(\.bitPattern), "\(what)")
                #expect(leaves.map { Int($0) } == expected.leaves, "\(what)")
            }
        }
    }
}
