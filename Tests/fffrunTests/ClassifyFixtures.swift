import Foundation
import Testing
import FastFeedforward

/// What the `classify` and `eval` tests share: running the built binary with a given standard
/// input, the committed reference data (fixtures/golden, fixtures/demo), encoders for every
/// record format, and the float64 numpy reference (tools/pyfff/reference.py) run in a
/// subprocess. Expected answers always come from those references, never from fffrun itself.
enum ClassifyFixtures {
    // MARK: Paths

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repositoryRoot.appendingPathComponent("fixtures")

    /// `$FFF_SHARED_DIR`, or `../shared` beside the repository.
    static let sharedDirectory: URL = {
        if let value = ProcessInfo.processInfo.environment["FFF_SHARED_DIR"], !value.isEmpty {
            return URL(fileURLWithPath: value)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// Whether the shared MNIST test set and checkpoints are present.
    static let sharedDataAvailable: Bool = {
        let mnist = sharedDirectory.appendingPathComponent("data/mnist/t10k-images-idx3-ubyte.gz").path
        let checkpoint = sharedDirectory.appendingPathComponent("data/paper-checkpoints/ml_mnist_l4_d2.pt").path
        let present = FileManager.default.fileExists(atPath: mnist) && FileManager.default.fileExists(atPath: checkpoint)
        if !present {
            print("fffrunTests: shared MNIST data not found at \(sharedDirectory.path) (set FFF_SHARED_DIR): MNIST tests skipped")
        }
        return present
    }()

    // MARK: Running

    /// The outcome of one run of a program.
    struct Run {
        let status: Int32
        let stdoutData: Data
        let stderr: String
        var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
        /// Standard output split into lines (the final newline ends the last line).
        var lines: [String] {
            var all = stdout.components(separatedBy: "\n")
            if all.last == "" { all.removeLast() }
            return all
        }
    }

    /// Runs `fffrun arguments` with `stdin` as its standard input (a file, so any size works).
    static func fffrun(_ arguments: [String], stdin: Data = Data(), environment: [String: String]? = nil) throws -> Run {
        try run(FFFRunBinary.location.get().path, arguments, stdin: stdin, environment: environment)
    }

    /// Runs `executable arguments` (a path, or a name looked up in PATH) with `stdin`.
    static func run(_ executable: String, _ arguments: [String], stdin: Data = Data(),
                    environment: [String: String]? = nil) throws -> Run {
        let directory = try TemporaryDirectory()
        let input = directory.path("stdin")
        try stdin.write(to: URL(fileURLWithPath: input))
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let inputHandle = try #require(FileHandle(forReadingAtPath: input))
        process.standardInput = inputHandle
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let collector = ErrorCollector()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            collector.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        try inputHandle.close()
        return Run(status: process.terminationStatus, stdoutData: outData,
                   stderr: String(decoding: collector.data, as: UTF8.self))
    }

    private final class ErrorCollector: @unchecked Sendable {
        // @unchecked: written by one thread before the group is left, read after it is waited for.
        var data = Data()
    }

    /// Runs a shell pipeline with bash; for tests of pipes (a reader that goes away).
    static func bash(_ script: String) throws -> Run {
        try run("bash", ["-c", script])
    }

    // MARK: Reference data

    /// A golden file of fixtures/golden: a model, raw records, and the float64 reference's
    /// answers (FORMAT.md §14), with the §14.3 near-tie flags.
    struct Golden {
        let name: String
        let modelPath: String
        let exact: Bool
        let inputs: [[Float]]
        let outputs: [[Double]]
        let leaves: [Int]
        let argmax: [Int]
        let nearTie: [Bool]
        var inputWidth: Int { inputs[0].count }
        var outputWidth: Int { outputs[0].count }

        /// Whether record `r`'s leaf must match: no near-tie, or the golden file is exact.
        func leafIsDetermined(_ r: Int) -> Bool { exact || !nearTie[r] }

        /// Whether record `r`'s argmax must match: its leaf is determined and its top two
        /// outputs are further apart than the output tolerance of §14.3.
        func argmaxIsDetermined(_ r: Int) -> Bool {
            guard leafIsDetermined(r) else { return false }
            let sorted = outputs[r].sorted(by: >)
            return sorted.count < 2 || sorted[0] - sorted[1] > 2 * ClassifyFixtures.tolerance(outputs[r], sorted[0])
        }
    }

    static func goldenNames() throws -> [String] {
        let directory = fixtures.appendingPathComponent("golden")
        return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    static func golden(_ name: String) throws -> Golden {
        let url = fixtures.appendingPathComponent("golden/\(name).json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let inputs = try #require(object["inputs"] as? [[Double]])
        return Golden(
            name: name,
            modelPath: fixtures.appendingPathComponent(try #require(object["model"] as? String)).path,
            exact: try #require(object["exact"] as? Bool),
            inputs: inputs.map { $0.map { Float($0) } },
            outputs: try #require(object["outputs"] as? [[Double]]),
            leaves: try #require(object["leaves"] as? [Int]),
            argmax: try #require(object["argmax"] as? [Int]),
            nearTie: try #require(object["near_tie"] as? [Bool]))
    }

    /// The demo data set (fixtures/demo): 360 8x8 digit images with pixel values 0...16, their
    /// true labels, and the reference's argmax and leaves (no record is a near-tie).
    struct Demo {
        let modelPath: String
        let csvPath: String
        let labelsPath: String
        let records: [[Float]]
        let labels: [Int]
        let argmax: [Int]
        let leaves: [Int]
    }

    static func demo() throws -> Demo {
        let directory = fixtures.appendingPathComponent("demo")
        let csvPath = directory.appendingPathComponent("digits-test.csv").path
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8)
        let records = csv.split(separator: "\n").map { line in line.split(separator: ",").map { Float(String($0))! } }
        let labelsPath = directory.appendingPathComponent("digits-test-labels.txt").path
        let labels = try String(contentsOfFile: labelsPath, encoding: .utf8).split(separator: "\n").map { Int(String($0))! }
        let expected = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: directory.appendingPathComponent("digits-test.expected.json"))) as? [String: Any])
        #expect((expected["near_ties"] as? Int) == 0, "the demo data was expected to have no near-ties")
        return Demo(modelPath: directory.appendingPathComponent("digits.fff").path, csvPath: csvPath,
                    labelsPath: labelsPath, records: records, labels: labels,
                    argmax: try #require(expected["argmax"] as? [Int]),
                    leaves: try #require(expected["leaves"] as? [Int]))
    }

    /// §14.3's per-element tolerance for an output of reference value `value` in a record whose
    /// reference outputs are `record`.
    static func tolerance(_ record: [Double], _ value: Double) -> Double {
        let largest = record.map(abs).max() ?? 0
        return 1e-4 * (1 + largest) + 1e-4 * abs(value)
    }

    /// Softmax in float64, the maximum subtracted first.
    static func softmax(_ values: [Double]) -> [Double] {
        let m = values.max()!
        let e = values.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    // MARK: The numpy reference

    /// What `pyfff.reference.evaluate` answers for a model and records.
    struct Reference: Decodable {
        let argmax: [Int]
        let leaves: [Int]
        let near_tie: [Bool]
        /// null where an output is not finite (JSON has no NaN).
        private let finite_outputs: [[Double?]]

        /// The outputs, NaN where the reference gave a non-finite value.
        var outputs: [[Double]] { finite_outputs.map { $0.map { $0 ?? .nan } } }
    }

    /// Runs tools/pyfff/reference.py (float64, spec §14) on `records` in a python3 subprocess.
    static func reference(model: String, records: [[Float]], applyPreprocessing: Bool = true) throws -> Reference {
        let directory = try TemporaryDirectory()
        let inputs = directory.path("inputs.npy")
        try Encoding.npy(records, descr: "<f4").write(to: URL(fileURLWithPath: inputs))
        let script = """
            import json, sys
            sys.path.insert(0, sys.argv[1])
            import numpy as np
            from pyfff.format import read_model
            from pyfff.reference import evaluate
            r = evaluate(read_model(sys.argv[2]), np.load(sys.argv[3]).astype(np.float64), apply_preprocessing=sys.argv[4] == "1")
            outputs = [[float(v) if np.isfinite(v) else None for v in row] for row in r.outputs]
            print(json.dumps({"argmax": r.argmax.tolist(), "leaves": r.leaves.tolist(), "near_tie": r.near_tie.tolist(), "finite_outputs": outputs}))
            """
        let result = try run("python3", ["-c", script, repositoryRoot.appendingPathComponent("tools").path, model, inputs,
                                         applyPreprocessing ? "1" : "0"])
        guard result.status == 0 else {
            throw FixtureError("python3 pyfff.reference failed (\(result.status)): \(result.stderr)")
        }
        return try JSONDecoder().decode(Reference.self, from: result.stdoutData)
    }

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Models built here

    /// A model written with FFFWriter: I = 12, O = 4, depth 3, leaf width 3, master width 5,
    /// gelu, PREP for pixel values (scale 2/255, offset -1), and labels with a tab and non-ASCII.
    static func builtModel(labels: [String]? = ["cat", "dog", "zèbre", "tab\there"]) throws -> FFFModel {
        let (i, o, d, h, m) = (12, 4, 3, 3, 5)
        let leaves = 1 << d
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(Int(state >> 40) % 2001 - 1000) / 1000
            }
        }
        return try FFFModel(
            inputWidth: i, outputWidth: o, depth: d, leafWidth: h, activation: .gelu,
            preprocessing: Preprocessing(scale: 2.0 / 255.0, offset: -1),
            nodeWeights: values((leaves - 1) * i), nodeBiases: values(leaves - 1),
            leafHiddenWeights: values(leaves * i * h), leafHiddenBiases: values(leaves * h),
            leafOutputWeights: values(leaves * h * o), leafOutputBiases: values(leaves * o),
            masterLeaf: MasterLeaf(width: m, hiddenWeights: values(i * m), hiddenBiases: values(m),
                                   outputWeights: values(m * o), outputBiases: values(o), mixingLogit: 0.25),
            labels: labels, metadata: [])
    }

    /// Pixel-like records (integers 0...255) from a fixed generator.
    static func pixelRecords(count: Int, width: Int, seed: UInt64) -> [[Float]] {
        var state = seed
        return (0..<count).map { _ in
            (0..<width).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Float(state >> 56)
            }
        }
    }

    // MARK: Encodings

    /// Records encoded in each format fffrun reads.
    enum Encoding {
        /// One line per record, values joined by `separator`, in Swift's shortest round-trip form.
        static func text(_ records: [[Float]], separator: String) -> Data {
            Data(records.map { $0.map { shortest($0) }.joined(separator: separator) + "\n" }.joined().utf8)
        }

        /// `3` for integral values (as a pixel file has them), else the shortest round-trip form.
        static func shortest(_ value: Float) -> String {
            value == value.rounded() && abs(value) < 1e7 ? String(Int(value)) : "\(value)"
        }

        static func f32(_ records: [[Float]]) -> Data {
            var data = Data()
            for value in records.joined() { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            return data
        }

        static func f64(_ records: [[Float]]) -> Data {
            var data = Data()
            for value in records.joined() { withUnsafeBytes(of: Double(value).bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            return data
        }

        static func u8(_ records: [[Float]]) -> Data {
            Data(records.joined().map { UInt8($0) })
        }

        /// IDX with data type 0x08 (u8) or 0x0D (f32, big-endian); records of `shape` (product
        /// = width; default one dimension).
        static func idx(_ records: [[Float]], float: Bool, shape: [Int]? = nil, declaredCount: Int? = nil) -> Data {
            let inner = shape ?? [records.first?.count ?? 1]
            var data = Data([0, 0, float ? 0x0D : 0x08, UInt8(1 + inner.count)])
            for dimension in [declaredCount ?? records.count] + inner {
                withUnsafeBytes(of: UInt32(dimension).bigEndian) { data.append(contentsOf: $0) }
            }
            for value in records.joined() {
                if float {
                    withUnsafeBytes(of: value.bitPattern.bigEndian) { data.append(contentsOf: $0) }
                } else {
                    data.append(UInt8(value))
                }
            }
            return data
        }

        /// NPY version 1.0, C order, shape (n, width); `descr` `<f4`, `<f8`, `|u1` or `<i8`.
        static func npy(_ records: [[Float]], descr: String) -> Data {
            let width = records.first?.count ?? 0
            return npy(values: Array(records.joined()), shape: "(\(records.count), \(width))", descr: descr)
        }

        /// A 1-D NPY array of 64-bit integers (labels).
        static func npyLabels(_ labels: [Int]) -> Data {
            npy(values: labels.map(Float.init), shape: "(\(labels.count),)", descr: "<i8")
        }

        private static func npy(values: [Float], shape: String, descr: String) -> Data {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            let unpadded = 10 + header.utf8.count + 1
            header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
            var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
            withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: Array(header.utf8))
            for value in values {
                switch descr {
                case "<f4": withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
                case "<f8": withUnsafeBytes(of: Double(value).bitPattern.littleEndian) { data.append(contentsOf: $0) }
                case "|u1": data.append(UInt8(value))
                case "<i8": withUnsafeBytes(of: Int64(value).littleEndian) { data.append(contentsOf: $0) }
                default: preconditionFailure("descr \(descr)")
                }
            }
            return data
        }

        /// `data` compressed by the gzip program.
        static func gzip(_ data: Data) throws -> Data {
            let result = try ClassifyFixtures.run("gzip", ["-c"], stdin: data)
            guard result.status == 0 else { throw FixtureError("gzip failed: \(result.stderr)") }
            return result.stdoutData
        }
    }
}
