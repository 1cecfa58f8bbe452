import Foundation
import Testing
import FastFeedforward

/// The published checkpoint ml_mnist_l4_d2 (94.73 % on the MNIST test set), converted by
/// tools/fff-convert, run by `fffrun eval` and `fffrun classify` on the shared MNIST files.
/// Needs the shared data (`$FFF_SHARED_DIR` or `../shared`); skipped with a printed reason
/// otherwise. With the data present, any failure (of the converter too) fails the test.
@Suite(.enabled(if: ClassifyFixtures.sharedDataAvailable,
                "shared MNIST data not found at $FFF_SHARED_DIR or ../shared: MNIST classify/eval tests skipped"))
struct ClassifyMNISTTests {
    typealias F = ClassifyFixtures

    static var mnist: URL { F.sharedDirectory.appendingPathComponent("data/mnist") }
    static var images: String { mnist.appendingPathComponent("t10k-images-idx3-ubyte.gz").path }
    static var labels: String { mnist.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path }

    /// Converts the checkpoint into `directory` with the documented command line.
    static func convert(into directory: TemporaryDirectory) throws -> String {
        let output = directory.path("ml_mnist_l4_d2.fff")
        let checkpoint = F.sharedDirectory.appendingPathComponent("data/paper-checkpoints/ml_mnist_l4_d2.pt").path
        let result = try F.run("python3", [F.repositoryRoot.appendingPathComponent("tools/fff-convert").path, checkpoint,
                                           "-o", output, "--input-scale", "0.00784313725490196", "--input-offset", "-1",
                                           "--labels", "0,1,2,3,4,5,6,7,8,9"])
        try #require(result.status == 0, "fff-convert failed: \(result.stderr)")
        return output
    }

    /// The test images as records of 784 pixel values, decompressed by gzip and parsed here.
    static func pixels(count: Int) throws -> [[Float]] {
        let result = try F.run("gzip", ["-dc", images])
        try #require(result.status == 0)
        let data = [UInt8](result.stdoutData)
        try #require(data.count == 16 + 10_000 * 784 && data[2] == 0x08 && data[3] == 3)
        return (0..<count).map { r in data[16 + r * 784 ..< 16 + (r + 1) * 784].map(Float.init) }
    }

    @Test func evalReproducesThePublishedAccuracy() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.convert(into: directory)
        let result = try F.fffrun(["eval", model, "--inputs", Self.images, "--labels", Self.labels])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.lines.first == "accuracy: 94.73% (9473 of 10000)")
        #expect(result.stdout.contains("leaf usage (4 leaves, 10000 records)"))
    }

    /// IDX (gzip, as distributed), CSV, raw f32 and one .npy file per record give identical
    /// predictions for the first 200 test images; the whole IDX run matches eval's 9473.
    @Test func everyFormatGivesTheSamePredictions() throws {
        let directory = try TemporaryDirectory()
        let model = try Self.convert(into: directory)
        let idx = try F.run(FFFRunBinary.location.get().path, ["classify", model, "--output", "index", "--leaf"],
                            stdin: Data(contentsOf: URL(fileURLWithPath: Self.images)))
        #expect(idx.status == 0, "stderr: \(idx.stderr)")
        try #require(idx.lines.count == 10_000)

        let records = try Self.pixels(count: 200)
        let expected = Array(idx.lines.prefix(200))
        let csv = try F.fffrun(["classify", model, "--output", "index", "--leaf"], stdin: F.Encoding.text(records, separator: ","))
        #expect(csv.lines == expected, "CSV differs from IDX")
        let f32 = try F.fffrun(["classify", model, "--output", "index", "--leaf", "--input-format", "f32"], stdin: F.Encoding.f32(records))
        #expect(f32.lines == expected, "f32 differs from IDX")
        var list = ""
        for (r, record) in records.enumerated() {
            let path = directory.path("image\(r).npy")
            try F.Encoding.npy([record], descr: "|u1").write(to: URL(fileURLWithPath: path))
            list += path + "\n"
        }
        let files = try F.fffrun(["classify", model, "--files", "--output", "index", "--leaf"], stdin: Data(list.utf8))
        #expect(files.status == 0, "stderr: \(files.stderr)")
        #expect(files.lines.map { $0.split(separator: "\t", maxSplits: 1).last.map(String.init) ?? "" } == expected,
                "--files differs from IDX")

        // The predictions against the labels: eval's count, from classify's output.
        let labels = try F.run("gzip", ["-dc", Self.labels])
        let truth = [UInt8](labels.stdoutData).dropFirst(8).map(Int.init)
        let correct = zip(idx.lines, truth).filter { line, label in line.split(separator: "\t").first == Substring(String(label)) }.count
        #expect(correct == 9473)
    }
}
