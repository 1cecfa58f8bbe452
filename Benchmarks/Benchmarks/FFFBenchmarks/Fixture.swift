import FastFeedforward

/// What one benchmark needs, built in its setup hook and dropped in its teardown: the compiled
/// model, a workspace, `recordCount` records and room for their outputs and leaves.
final class Fixture {
    let model: InferenceModel
    let workspace: Workspace
    let recordCount: Int
    let records: UnsafeMutableBufferPointer<Float>
    let outputs: UnsafeMutableBufferPointer<Float>
    let leaves: UnsafeMutableBufferPointer<Int32>
    /// The same records as arrays, and an output array, for the Array entry points.
    let recordArrays: [[Float]]
    var outputArray: [Float]

    init(shape: Shape, kernel: KernelPath, recordCount: Int, types: CompactTypes? = nil) throws {
        var source = try shape.makeModel(seed: UInt64(shape.depth * 1000 + shape.leafWidth))
        if let types { source = try source.converted(weightType: types.weights, nodeType: types.nodes) }
        model = InferenceModel(source, kernel: kernel)
        workspace = model.makeWorkspace()
        self.recordCount = recordCount
        records = .allocate(capacity: recordCount * shape.inputWidth)
        outputs = .allocate(capacity: recordCount * shape.outputWidth)
        leaves = .allocate(capacity: recordCount)
        var rng = SplitMix64(seed: 12345)
        let high: Float = shape.inputWidth == 784 ? 255 : 1
        let low: Float = shape.inputWidth == 784 ? 0 : -1
        for i in records.indices { records[i] = Float.random(in: low...high, using: &rng) }
        let base = records.baseAddress!
        recordArrays = (0..<recordCount).map { r in
            Array(UnsafeBufferPointer(start: base + r * shape.inputWidth, count: shape.inputWidth))
        }
        outputArray = [Float](repeating: 0, count: shape.outputWidth)
        outputs.initialize(repeating: 0)
        leaves.initialize(repeating: 0)
    }

    deinit {
        records.deallocate()
        outputs.deallocate()
        leaves.deallocate()
    }

    /// Record `r` of the fixture.
    func record(_ r: Int) -> UnsafeBufferPointer<Float> {
        let width = model.inputWidth
        return UnsafeBufferPointer(start: records.baseAddress! + r * width, count: width)
    }

    func output(_ r: Int) -> UnsafeMutableBufferPointer<Float> {
        let width = model.outputWidth
        return UnsafeMutableBufferPointer(start: outputs.baseAddress! + r * width, count: width)
    }
}

/// The fixture of the benchmark that is running. Benchmarks run one after another on one thread,
/// and the setup, body and teardown of one never overlap another's.
final class CurrentFixture: @unchecked Sendable {
    // @unchecked: accessed only from the benchmark runner's sequential hooks and bodies.
    var fixture: Fixture?
    static let shared = CurrentFixture()
}
