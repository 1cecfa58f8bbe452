import FFFFormat
import Foundation
import Testing
@testable import FFFInference

/// The three published MNIST checkpoints, converted by tools/fff-convert, read back by the Swift
/// reader and run on all 10,000 test images through every kernel path: they must reproduce the
/// published accuracies exactly and agree with the float64 numpy reference on >= 99.95 % of the
/// argmaxes. Needs the shared data (`$FFF_SHARED_DIR` or `../shared`); skipped, with the reason
/// printed by the test runner, when it is absent. If the data is there, any failure (of the
/// converter too) fails the test.
@Suite(.enabled(if: TestEnvironment.sharedDataAvailable,
                "shared MNIST data not found at $FFF_SHARED_DIR or ../shared: MNIST acceptance skipped"))
struct MNISTAcceptanceTests {
    struct Checkpoint: Sendable, CustomTestStringConvertible {
        var name: String
        var correct: Int
        var testDescription: String { name }
    }

    static let checkpoints = [
        Checkpoint(name: "lb_mnist_l8_d1", correct: 9346),
        Checkpoint(name: "ml_mnist_l2_d3", correct: 9414),
        Checkpoint(name: "ml_mnist_l4_d2", correct: 9473),
    ]

    /// An IDX file's payload after its header, decompressed with `gzip -dc`.
    static func readIDX(_ path: URL, magic: UInt32, dimensions: Int) throws -> (count: Int, bytes: [UInt8]) {
        let result = try TestEnvironment.run("gzip", ["-dc", path.path])
        guard result.status == 0 else { throw TestFailure("gzip -dc \(path.path) failed") }
        let data = [UInt8](result.stdout)
        func be32(_ at: Int) -> UInt32 { data[at ..< at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        guard data.count >= 4 + 4 * dimensions, be32(0) == magic else { throw TestFailure("\(path.path): not IDX magic \(magic)") }
        let header = 4 + 4 * dimensions
        let count = Int(be32(4))
        return (count, Array(data[header...]))
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    @Test(arguments: checkpoints)
    func reproducesPublishedAccuracy(checkpoint: Checkpoint) throws {
        let shared = TestEnvironment.sharedDirectory
        let mnist = shared.appendingPathComponent("data/mnist")
        let images = try Self.readIDX(mnist.appendingPathComponent("t10k-images-idx3-ubyte.gz"), magic: 0x803, dimensions: 3)
        let labels = try Self.readIDX(mnist.appendingPathComponent("t10k-labels-idx1-ubyte.gz"), magic: 0x801, dimensions: 1)
        #expect(images.count == 10_000 && labels.count == 10_000 && images.bytes.count == 10_000 * 784)
        let pixels = images.bytes.map(Float.init)

        let temporary = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: temporary) }
        let modelPath = temporary.appendingPathComponent("\(checkpoint.name).fff").path
        let checkpointPath = shared.appendingPathComponent("data/paper-checkpoints/\(checkpoint.name).pt").path
        let convert = try TestEnvironment.run(
            "python3", [TestEnvironment.repositoryRoot.appendingPathComponent("tools/fff-convert").path, checkpointPath,
                        "-o", modelPath, "--input-scale", "0.00784313725490196", "--input-offset", "-1", "-q"])
        try #require(convert.status == 0, "fff-convert failed: \(String(decoding: convert.stderr, as: UTF8.self))")

        // The float64 reference (tools/pyfff/reference.py) on the same file and images.
        let referencePath = temporary.appendingPathComponent("reference.txt").path
        let script = """
            import sys; sys.path.insert(0, sys.argv[1])
            from pyfff import format, idx, reference
            m = format.read_model(sys.argv[2])
            r = reference.evaluate(m, idx.read_idx(sys.argv[3]).reshape(-1, 784))
            with open(sys.argv[4], "w") as f:
                f.write(" ".join(map(str, r.argmax.tolist())) + "\\n" + " ".join(str(int(t)) for t in r.near_tie) + "\\n")
            """
        let python = try TestEnvironment.run(
            "python3", ["-c", script, TestEnvironment.repositoryRoot.appendingPathComponent("tools").path, modelPath,
                        mnist.appendingPathComponent("t10k-images-idx3-ubyte.gz").path, referencePath])
        try #require(python.status == 0, "reference failed: \(String(decoding: python.stderr, as: UTF8.self))")
        let lines = try String(contentsOfFile: referencePath, encoding: .utf8).split(separator: "\n")
        let referenceArgmax = lines[0].split(separator: " ").map { Int($0)! }
        let referenceNearTies = lines[1].split(separator: " ").filter { $0 == "1" }.count
        #expect(referenceArgmax.count == 10_000)

        let source = try FFFReader.read(contentsOf: modelPath)
        for kernel in KernelPath.supported {
            let model = InferenceModel(source, kernel: kernel)
            let ws = model.makeWorkspace()
            var outputs = [Float](repeating: 0, count: 10_000 * 10)
            var leaves = [Int32](repeating: 0, count: 10_000)
            pixels.withUnsafeBufferPointer { p in
                outputs.withUnsafeMutableBufferPointer { o in
                    leaves.withUnsafeMutableBufferPointer { l in
                        model.predictBatch(p, into: o, leaves: l, workspace: ws)
                    }
                }
            }
            var correct = 0, agree = 0, singleMismatch = 0
            for r in 0..<10_000 {
                let c = outputs.withUnsafeBufferPointer {
                    Classification(scores: UnsafeBufferPointer(rebasing: $0[r * 10 ..< r * 10 + 10]), leaf: Int(leaves[r]))
                }
                if c.index == Int(labels.bytes[r]) { correct += 1 }
                if c.index == referenceArgmax[r] { agree += 1 }
                // One-at-a-time for a sample: identical to the batch.
                if r % 10 == 0 {
                    let single = pixels.withUnsafeBufferPointer {
                        model.classify(UnsafeBufferPointer(rebasing: $0[r * 784 ..< (r + 1) * 784]), workspace: ws)
                    }
                    if single != c { singleMismatch += 1 }
                }
            }
            print("\(checkpoint.name) [\(kernel)]: \(correct)/10000 correct, argmax agreement with float64 reference "
                  + "\(agree)/10000, reference near-ties \(referenceNearTies)")
            #expect(correct == checkpoint.correct, "\(checkpoint.name) on \(kernel)")
            #expect(Double(agree) / 10_000 >= 0.9995, "\(checkpoint.name) on \(kernel): agreement \(agree)/10000")
            #expect(singleMismatch == 0)
        }
    }
}
