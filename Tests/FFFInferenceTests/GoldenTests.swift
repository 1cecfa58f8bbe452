import FFFFormat
import Foundation
import Testing
@testable import FFFInference

/// The committed golden files (fixtures/golden/NAME.json, float64 outputs of the numpy reference
/// tools/pyfff/reference.py) through every kernel path, single and batched, Array and unsafe;
/// format 1.1 files (compact_*, conformance_float16_* ...) with their weights read in their own
/// element types.
@Suite struct GoldenTests {
    struct Golden: Sendable, CustomTestStringConvertible {
        var name: String
        var modelPath: String
        var applyPreprocessing: Bool
        var inputs: [[Float]]
        var outputs: [[Double]]
        var leaves: [Int]
        var argmax: [Int]
        var nearTie: [Bool]
        /// Every node score is exact in float32, so leaves must match even on near-ties.
        var exact: Bool
        var testDescription: String { name }
    }

    static let directory = TestEnvironment.fixtures.appendingPathComponent("golden")

    static func goldenFiles() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// JSON as Python's `json` writes it: NaN and infinities appear as bare tokens.
    static func load(_ url: URL) throws -> Golden {
        var text = try String(contentsOf: url, encoding: .utf8)
        text = text.replacingOccurrences(of: "-Infinity", with: "\"-inf\"")
            .replacingOccurrences(of: "Infinity", with: "\"inf\"")
            .replacingOccurrences(of: "NaN", with: "\"nan\"")
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        func number(_ any: Any) -> Double {
            if let s = any as? String { return s == "nan" ? .nan : (s == "inf" ? .infinity : -.infinity) }
            return (any as! NSNumber).doubleValue
        }
        func matrix(_ key: String) -> [[Double]] { (object[key] as! [[Any]]).map { $0.map(number) } }
        let records = matrix("inputs")
        return Golden(
            name: url.deletingPathExtension().lastPathComponent,
            modelPath: TestEnvironment.fixtures.appendingPathComponent(object["model"] as! String).path,
            applyPreprocessing: (object["apply_preprocessing"] as? Bool) ?? true,
            inputs: records.map { $0.map { Float($0) } },
            outputs: matrix("outputs"),
            leaves: (object["leaves"] as! [Any]).map { Int(number($0)) },
            argmax: (object["argmax"] as! [Any]).map { Int(number($0)) },
            nearTie: (object["near_tie"] as? [Any])?.map { ($0 as? Bool) ?? ((($0 as? NSNumber)?.intValue ?? 0) != 0) }
                ?? Array(repeating: false, count: records.count),
            exact: (object["exact"] as? Bool) ?? false)
    }

    /// The suite is only as good as its fixtures: their absence is a failure, not a skip.
    @Test func goldenFilesArePresent() {
        #expect(!Self.goldenFiles().isEmpty, "no golden files in \(Self.directory.path)")
    }

    static func agree(_ got: ArraySlice<Float>, _ reference: [Double]) -> Bool {
        let gotArray = Array(got)
        let nanMatch = zip(gotArray, reference).allSatisfy { $0.isNaN == $1.isNaN }
        guard nanMatch else { return false }
        let finite = zip(gotArray, reference).filter { !$0.1.isNaN }
        return Agreement.outputsAgree(finite.map(\.0), finite.map(\.1))
    }

    @Test(arguments: goldenFiles())
    func matchesNumpyReference(file: URL) throws {
        let golden = try Self.load(file)
        let source = try FFFReader.read(contentsOf: golden.modelPath)
        let form: InputForm = golden.applyPreprocessing ? .raw : .preprocessed
        let count = golden.inputs.count
        let O = source.outputWidth
        // Records whose leaf may legitimately differ (§14.3); none when the scores are exact.
        let excludedFromLeaves = golden.exact ? Array(repeating: false, count: count) : golden.nearTie
        let excluded = excludedFromLeaves.filter { $0 }.count
        let types = source.weightType == .float32 ? "" : " (\(source.weightType) weights, \(source.nodeType) nodes)"
        print("\(golden.name)\(types): \(count) records, \(excluded) near-tie(s) excluded from leaf/argmax checks")
        let flat = golden.inputs.flatMap { $0 }
        for kernel in KernelPath.supported {
            let model = InferenceModel(source, kernel: kernel)
            // Compact files (format 1.1) run compact: the packed weights keep the file's types.
            #expect(model.weightType == source.weightType && model.nodeType == source.nodeType)
            let ws = Workspace(for: model, batchCapacity: 5)
            var single = [Float]()
            var otherSide = 0
            for r in 0..<count {
                var out = [Float](repeating: 0, count: O)
                let leaf = model.predict(golden.inputs[r], into: &out, workspace: ws, input: form)
                single += out
                // A near-tie record may take the other child (§14.3); its outputs are then those
                // of another leaf, so they are compared only when the leaf agrees.
                if leaf == golden.leaves[r] || !excludedFromLeaves[r] {
                    #expect(Self.agree(out[...], golden.outputs[r]), "\(golden.name) [\(kernel)] record \(r): \(out) vs \(golden.outputs[r])")
                } else {
                    otherSide += 1
                }
                let c = golden.inputs[r].withUnsafeBufferPointer { model.classify($0, workspace: ws, input: form) }
                #expect(c.leaf == leaf)
                if !excludedFromLeaves[r] {
                    #expect(leaf == golden.leaves[r], "\(golden.name) [\(kernel)] record \(r) leaf")
                    if !Agreement.argmaxAmbiguous(golden.outputs[r]) && !golden.outputs[r].contains(where: \.isNaN) {
                        #expect(c.index == golden.argmax[r], "\(golden.name) [\(kernel)] record \(r) argmax")
                    }
                }
            }
            if otherSide > 0 { print("\(golden.name) [\(kernel)]: \(otherSide) near-tie record(s) took the other child") }
            var outputs = [Float](repeating: 0, count: count * O)
            var leaves = [Int32](repeating: 0, count: count)
            flat.withUnsafeBufferPointer { rp in
                outputs.withUnsafeMutableBufferPointer { op in
                    leaves.withUnsafeMutableBufferPointer { lp in
                        model.predictBatch(rp, into: op, leaves: lp, workspace: ws, input: form)
                    }
                }
            }
            #expect(outputs.map(\.bitPattern) == single.map(\.bitPattern), "\(golden.name) [\(kernel)] batch")
            for r in 0..<count where !excludedFromLeaves[r] {
                #expect(Int(leaves[r]) == golden.leaves[r])
            }
        }
    }
}
