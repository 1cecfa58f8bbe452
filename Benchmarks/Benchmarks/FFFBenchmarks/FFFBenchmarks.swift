import Benchmark
import FastFeedforward

// Latency per record of FFF inference (see ../../BENCHMARKS.md for results and commands).
// Names read "<I>-<O> d<depth> l<leaf width> [m<master width>] <kernel> [<weights>/<nodes>] single|batch":
//   single  one `predict` call per record (unsafe-buffer API);
//   batch   one `predictBatch` call for the iteration's records;
//   <weights>/<nodes>  the element types of a compact model (format 1.1), e.g. float16/float16;
//           absent for float32. A compact model is the float32 one of the same name with its
//           weights converted (`FFFModel.converted(weightType:nodeType:)`), so the two read the
//           same records through the same leaves.
// With `--scale`, times are per record. mallocCountTotal is per iteration and must read 0.

let benchmarks: @Sendable () -> Void = {
    let best = KernelPath.default
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        maxDuration: .milliseconds(700),
        maxIterations: 100_000)

    // The paper's MNIST shapes (784 -> 10, master leaf 8).
    for depth in [1, 2, 3, 4, 7] {
        for leaf in [1, 2, 4, 8] {
            let shape = Shape(inputWidth: 784, outputWidth: 10, depth: depth, leafWidth: leaf, masterWidth: 8)
            let kernels = (depth == 4 && leaf == 8) ? KernelPath.supported : [best]
            for kernel in kernels {
                register(shape, kernel: kernel, batch: false)
                register(shape, kernel: kernel, batch: true)
            }
        }
    }

    // The other entry points, for their allocation count: classify, and the Array API with inout.
    let paper = Shape(inputWidth: 784, outputWidth: 10, depth: 4, leafWidth: 8, masterWidth: 8)
    Benchmark("\(paper.name) \(best) classify", configuration: fixtureConfiguration(paper, kernel: best, records: 1000)) { benchmark in
        let f = CurrentFixture.shared.fixture!
        var r = 0, sum = 0
        for _ in benchmark.scaledIterations {
            sum &+= f.model.classify(f.record(r), workspace: f.workspace).index
            r += 1
            if r == f.recordCount { r = 0 }
        }
        blackHole(sum)
    }
    Benchmark("\(paper.name) \(best) array-inout", configuration: fixtureConfiguration(paper, kernel: best, records: 1000)) { benchmark in
        let f = CurrentFixture.shared.fixture!
        var r = 0
        for _ in benchmark.scaledIterations {
            f.model.predict(f.recordArrays[r], into: &f.outputArray, workspace: f.workspace)
            r += 1
            if r == f.recordCount { r = 0 }
        }
        blackHole(f.outputArray[0])
    }

    // Dense layers of the same total width (2^depth x leaf width relu units), same kernels,
    // against FFFs without a master leaf.
    let denseComparisons: [(fff: Shape, dense: Shape)] = [
        (Shape(inputWidth: 784, outputWidth: 10, depth: 4, leafWidth: 8, masterWidth: 0), .dense(784, 10, width: 128)),
        (Shape(inputWidth: 784, outputWidth: 10, depth: 9, leafWidth: 8, masterWidth: 0), .dense(784, 10, width: 4096)),
        (Shape(inputWidth: 768, outputWidth: 768, depth: 9, leafWidth: 8, masterWidth: 0), .dense(768, 768, width: 4096)),
        (Shape(inputWidth: 768, outputWidth: 768, depth: 12, leafWidth: 1, masterWidth: 0), .dense(768, 768, width: 4096)),
    ]
    for pair in denseComparisons {
        register(pair.fff, kernel: best, batch: false)
        register(pair.dense, kernel: best, batch: false)
    }

    // UltraFastBERT-like wide layers: 768 -> 768.
    var wide: [Shape] = []
    for depth in [8, 12] {
        for leaf in [1, 4, 8] {
            let shape = Shape(inputWidth: 768, outputWidth: 768, depth: depth, leafWidth: leaf, masterWidth: 0)
            if !(depth == 12 && leaf == 1) { register(shape, kernel: best, batch: false) }
            register(shape, kernel: best, batch: true)
            wide.append(shape)
        }
    }

    // Compact weights (format 1.1): each type next to float32 on the paper's shapes and the
    // 768 -> 768 ones, single and batched, on the best path; every path for 784-10 d4 l8 m8.
    let paperShapes = [
        Shape(inputWidth: 784, outputWidth: 10, depth: 1, leafWidth: 8, masterWidth: 0),
        Shape(inputWidth: 784, outputWidth: 10, depth: 3, leafWidth: 2, masterWidth: 8),
        Shape(inputWidth: 784, outputWidth: 10, depth: 2, leafWidth: 4, masterWidth: 8),
        paper,
    ]
    for shape in paperShapes + wide {
        let kernels = shape.name == paper.name ? KernelPath.supported : [best]
        for kernel in kernels {
            for types in [nil] + CompactTypes.all {
                register(shape, kernel: kernel, batch: false, types: types)
                register(shape, kernel: kernel, batch: true, types: types)
            }
        }
    }
}

/// A weight type and a node type of format 1.1.
struct CompactTypes: Sendable {
    var weights: ElementType
    var nodes: ElementType
    var name: String { "\(weights)/\(nodes)" }

    /// The benchmarked pairs: each compact type with nodes of the same type, and int8-row with
    /// float32 nodes (the converter's default for int8-row).
    static let all = [
        CompactTypes(weights: .float16, nodes: .float16),
        CompactTypes(weights: .bfloat16, nodes: .bfloat16),
        CompactTypes(weights: .int8Row, nodes: .float32),
        CompactTypes(weights: .int8Row, nodes: .int8Row),
    ]
}

/// Names already registered: the grids overlap.
nonisolated(unsafe) private var registered = Set<String>()

/// Registers one benchmark (once per name). Cheap shapes run 1000 records per iteration and are
/// scaled per record; dense layers of thousands of units run one record per iteration.
private func register(_ shape: Shape, kernel: KernelPath, batch: Bool, types: CompactTypes? = nil) {
    let typeName = types.map { " \($0.name)" } ?? ""
    let name = "\(shape.name) \(kernel)\(typeName) \(batch ? "batch" : "single")"
    guard registered.insert(name).inserted else { return }
    let slow = shape.multiplyAdds > 200_000
    let configuration = fixtureConfiguration(shape, kernel: kernel, records: slow ? 16 : 1000, types: types)
    if batch {
        Benchmark(name, configuration: configuration) { benchmark in
            let f = CurrentFixture.shared.fixture!
            let count = benchmark.scaledIterations.count
            f.model.predictBatch(
                UnsafeBufferPointer(start: f.records.baseAddress!, count: count * f.model.inputWidth),
                into: UnsafeMutableBufferPointer(start: f.outputs.baseAddress!, count: count * f.model.outputWidth),
                leaves: UnsafeMutableBufferPointer(start: f.leaves.baseAddress!, count: count),
                workspace: f.workspace)
            blackHole(f.outputs[0])
        }
    } else {
        Benchmark(name, configuration: configuration) { benchmark in
            let f = CurrentFixture.shared.fixture!
            var r = 0
            for _ in benchmark.scaledIterations {
                f.model.predict(f.record(r), into: f.output(r), workspace: f.workspace)
                r += 1
                if r == f.recordCount { r = 0 }
            }
            blackHole(f.outputs[0])
        }
    }
}

/// Iterations of `records` records (scaled per record) when `records` is 1000, of one record
/// otherwise; the fixture is built before the first iteration and dropped after the last.
private func fixtureConfiguration(_ shape: Shape, kernel: KernelPath, records: Int,
                                  types: CompactTypes? = nil) -> Benchmark.Configuration {
    Benchmark.Configuration(
        scalingFactor: records == 1000 ? .kilo : .one,
        setup: {
            CurrentFixture.shared.fixture = try Fixture(shape: shape, kernel: kernel, recordCount: records, types: types)
        },
        teardown: { CurrentFixture.shared.fixture = nil })
}
