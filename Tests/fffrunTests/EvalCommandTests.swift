import Foundation
import Testing
import FastFeedforward

/// `fffrun eval`: accuracy, confusion matrix and leaf usage against counts computed here from
/// the reference's argmax and leaves (fixtures/demo, fixtures/golden) and the true labels.
@Suite struct EvalCommandTests {
    typealias F = ClassifyFixtures

    /// What the report must say, computed from reference predictions and true labels.
    struct Expected {
        let classes: Int
        let leafCount: Int
        var confusion: [[Int]]
        var leafCounts: [Int]
        var total: Int { confusion.joined().reduce(0, +) }
        var correct: Int { (0..<classes).reduce(0) { $0 + confusion[$1][$1] } }

        init(truth: [Int], predicted: [Int], leaves: [Int], classes: Int, leafCount: Int) {
            self.classes = classes
            self.leafCount = leafCount
            confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
            for (t, p) in zip(truth, predicted) { confusion[t][p] += 1 }
            leafCounts = Array(repeating: 0, count: leafCount)
            for leaf in leaves { leafCounts[leaf] += 1 }
        }

        /// H / log(L) from the counts, 1 for a single leaf.
        var normalizedEntropy: Double {
            if leafCount == 1 { return 1 }
            let n = Double(leafCounts.reduce(0, +))
            let h = leafCounts.filter { $0 > 0 }.map { Double($0) / n }.reduce(0.0) { $0 - $1 * log($1) }
            return h / log(Double(leafCount))
        }

        /// `94.73%`: two decimals, rounded half up.
        static func percent(_ n: Int, _ d: Int) -> String {
            let basisPoints = (Double(n) / Double(d) * 10_000 + 0.5).rounded(.down)
            return String(format: "%.2f%%", basisPoints / 100)
        }
    }

    /// Checks a `--json` report against `expected`.
    private func check(json: String, _ expected: Expected, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(root["records"] as? Int == expected.total, sourceLocation: sourceLocation)
        #expect(root["correct"] as? Int == expected.correct, sourceLocation: sourceLocation)
        let accuracy = try #require((root["accuracy"] as? NSNumber)?.doubleValue)
        #expect(abs(accuracy - Double(expected.correct) / Double(expected.total)) < 1e-12, sourceLocation: sourceLocation)
        #expect(root["confusion"] as? [[Int]] == expected.confusion, sourceLocation: sourceLocation)
        let classes = try #require(root["classes"] as? [[String: Any]])
        #expect(classes.count == expected.classes, sourceLocation: sourceLocation)
        for (c, entry) in classes.enumerated() {
            #expect(entry["index"] as? Int == c)
            #expect(entry["total"] as? Int == expected.confusion[c].reduce(0, +), sourceLocation: sourceLocation)
            #expect(entry["correct"] as? Int == expected.confusion[c][c], sourceLocation: sourceLocation)
        }
        let leaves = try #require(root["leaves"] as? [String: Any])
        #expect(leaves["count"] as? Int == expected.leafCount, sourceLocation: sourceLocation)
        #expect(leaves["records"] as? [Int] == expected.leafCounts, sourceLocation: sourceLocation)
        #expect(leaves["unused"] as? Int == expected.leafCounts.filter { $0 == 0 }.count, sourceLocation: sourceLocation)
        let entropy = try #require((leaves["normalized_entropy"] as? NSNumber)?.doubleValue)
        #expect(abs(entropy - expected.normalizedEntropy) < 1e-9, sourceLocation: sourceLocation)
        let fractions = try #require(leaves["fractions"] as? [NSNumber])
        for (j, fraction) in fractions.enumerated() {
            #expect(abs(fraction.doubleValue - Double(expected.leafCounts[j]) / Double(expected.total)) < 1e-12, sourceLocation: sourceLocation)
        }
    }

    /// The demo set: the reference's 332 of 360, per class, matrix and leaves; text and JSON.
    @Test func demoDigitsReport() throws {
        let demo = try F.demo()
        let expected = Expected(truth: demo.labels, predicted: demo.argmax, leaves: demo.leaves, classes: 10, leafCount: 8)
        #expect(expected.correct == 332, "fixtures/demo/README.md records 332 of 360")
        let text = try F.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", demo.labelsPath])
        #expect(text.status == 0, "stderr: \(text.stderr)")
        let lines = text.lines
        #expect(lines.first == "accuracy: \(Expected.percent(expected.correct, expected.total)) (\(expected.correct) of \(expected.total))")
        #expect(lines.first == "accuracy: 92.22% (332 of 360)")
        // The confusion matrix rows, as printed: "  T  n0  n1 ...".
        let header = try #require(lines.firstIndex { $0.hasPrefix("confusion matrix") })
        for t in 0..<10 {
            let cells = lines[header + 2 + t].split(separator: " ").compactMap { Int($0) }
            #expect(cells == [t] + expected.confusion[t], "confusion row \(t)")
        }
        let leafHeader = try #require(lines.firstIndex { $0.hasPrefix("leaf usage (8 leaves, 360 records)") })
        for j in 0..<8 {
            let cells = lines[leafHeader + 2 + j].split(separator: " ")
            #expect(Int(cells[0]) == j && Int(cells[1]) == expected.leafCounts[j], "leaf row \(j): \(lines[leafHeader + 2 + j])")
        }
        #expect(lines.contains("normalised entropy: \(String(format: "%.4f", expected.normalizedEntropy)) (1 = perfectly balanced)"))
        #expect(lines.contains("unused leaves: \(expected.leafCounts.filter { $0 == 0 }.count) of 8"))
        for c in 0..<10 {
            let total = expected.confusion[c].reduce(0, +)
            let row = try #require(lines.first { $0.hasPrefix("  \(c) ") })
            #expect(row.hasSuffix(Expected.percent(expected.confusion[c][c], total)), "per-class row \(c): \(row)")
        }

        let json = try F.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", demo.labelsPath, "--json"])
        #expect(json.status == 0)
        try check(json: json.stdout, expected)
    }

    /// The same report whatever the encodings of inputs and labels: IDX (u8, gz), NPY int64
    /// labels, gzip text labels, label names, and inputs on standard input.
    @Test func labelFormats() throws {
        let demo = try F.demo()
        let expected = Expected(truth: demo.labels, predicted: demo.argmax, leaves: demo.leaves, classes: 10, leafCount: 8)
        let directory = try TemporaryDirectory()
        func file(_ name: String, _ data: Data) throws -> String {
            let path = directory.path(name)
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let labelBytes = Data(demo.labels.map(UInt8.init))
        var idxLabels = Data([0, 0, 0x08, 1])
        withUnsafeBytes(of: UInt32(demo.labels.count).bigEndian) { idxLabels.append(contentsOf: $0) }
        idxLabels += labelBytes
        let inputsIDX = try file("images.idx.gz", try F.Encoding.gzip(F.Encoding.idx(demo.records, float: false)))
        let combinations: [(inputs: String, labels: String, extra: [String])] = [
            (inputsIDX, try file("labels.idx", idxLabels), []),
            (inputsIDX, try file("labels.idx.gz", try F.Encoding.gzip(idxLabels)), ["--labels-format", "idx"]),
            (try file("images.npy", F.Encoding.npy(demo.records, descr: "<f4")), try file("labels.npy", F.Encoding.npyLabels(demo.labels)), []),
            (demo.csvPath, try file("labels.txt.gz", try F.Encoding.gzip(Data(demo.labels.map { "  \($0)\r\n" }.joined().utf8))), ["--labels-format", "text"]),
            (try file("images.f32", F.Encoding.f32(demo.records)), demo.labelsPath, ["--input-format", "f32", "--threads", "1"]),
        ]
        for combination in combinations {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", combination.inputs, "--labels", combination.labels, "--json"]
                                      + combination.extra)
            #expect(result.status == 0, "\(combination): \(result.stderr)")
            try check(json: result.stdout, expected)
        }
        let stdin = try F.fffrun(["eval", demo.modelPath, "--inputs", "-", "--labels", demo.labelsPath, "--json", "--input-format", "u8"],
                                 stdin: F.Encoding.u8(demo.records))
        #expect(stdin.status == 0, "stderr: \(stdin.stderr)")
        try check(json: stdin.stdout, expected)
    }

    /// Text labels may name classes by label; names come first (a model labelled "2", "0", "1"
    /// reads the line "1" as label "1", class 2). The expected predictions are pyfff.reference's.
    @Test func labelNames() throws {
        let directory = try TemporaryDirectory()
        let named = directory.path("named.fff")
        let labels = ["cat", "dog", "zèbre", "tab\there"]
        try FFFWriter.write(try F.builtModel(labels: labels), to: named)
        let all = F.pixelRecords(count: 200, width: 12, seed: 11)
        let reference = try F.reference(model: named, records: all)
        // Only records whose prediction is determined (no near-tie, clear top two).
        let keep = (0..<all.count).filter { r in
            let sorted = reference.outputs[r].sorted(by: >)
            return !reference.near_tie[r] && sorted[0] - sorted[1] > 2 * F.tolerance(reference.outputs[r], sorted[0])
        }
        let records = keep.map { all[$0] }
        let predicted = keep.map { reference.argmax[$0] }
        let truth = keep.map { $0 % 4 }
        let expected = Expected(truth: truth, predicted: predicted, leaves: keep.map { reference.leaves[$0] }, classes: 4, leafCount: 8)
        let inputs = directory.path("inputs.u8")
        try F.Encoding.u8(records).write(to: URL(fileURLWithPath: inputs))
        // Names, with the index form mixed in.
        let text = truth.enumerated().map { i, t in i % 3 == 0 ? String(t) : labels[t] }.joined(separator: "\n") + "\n\n"
        let labelPath = directory.path("labels.txt")
        try Data(text.utf8).write(to: URL(fileURLWithPath: labelPath))
        let result = try F.fffrun(["eval", named, "--inputs", inputs, "--input-format", "u8", "--labels", labelPath, "--json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        try check(json: result.stdout, expected)

        let permuted = directory.path("permuted.fff")
        try FFFWriter.write(try F.builtModel(labels: ["2", "0", "1", "3"]), to: permuted)
        let one = directory.path("one.txt")
        try Data("1\n".utf8).write(to: URL(fileURLWithPath: one))
        let firstRecord = directory.path("first.u8")
        try F.Encoding.u8([records[0]]).write(to: URL(fileURLWithPath: firstRecord))
        let byName = try F.fffrun(["eval", permuted, "--inputs", firstRecord, "--input-format", "u8", "--labels", one, "--json"])
        #expect(byName.status == 0, "stderr: \(byName.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: byName.stdoutData) as? [String: Any])
        let confusion = try #require(root["confusion"] as? [[Int]])
        #expect(confusion[2].reduce(0, +) == 1, "the line \"1\" names class 2 of a model labelled 2, 0, 1, 3")
    }

    /// A golden model with exact node scores (every leaf determined) and labels made up here:
    /// the report's counts are those of the golden argmax and leaves.
    @Test func goldenSetCounts() throws {
        let golden = try F.golden("exact_zero_scores")
        let truth = (0..<golden.inputs.count).map { ($0 * 7) % golden.outputWidth }
        try #require((0..<golden.inputs.count).allSatisfy(golden.argmaxIsDetermined))
        let model = try FFFReader.read(contentsOf: golden.modelPath)
        let expected = Expected(truth: truth, predicted: golden.argmax, leaves: golden.leaves,
                                classes: golden.outputWidth, leafCount: model.leafCount)
        let directory = try TemporaryDirectory()
        let inputs = directory.path("inputs.csv")
        try F.Encoding.text(golden.inputs, separator: ",").write(to: URL(fileURLWithPath: inputs))
        let labels = directory.path("labels.npy")
        try F.Encoding.npyLabels(truth).write(to: URL(fileURLWithPath: labels))
        let json = try F.fffrun(["eval", golden.modelPath, "--inputs", inputs, "--labels", labels, "--json"])
        #expect(json.status == 0, "stderr: \(json.stderr)")
        try check(json: json.stdout, expected)
        let text = try F.fffrun(["eval", golden.modelPath, "--inputs", inputs, "--labels", labels])
        #expect(text.lines.first == "accuracy: \(Expected.percent(expected.correct, expected.total)) (\(expected.correct) of \(expected.total))")
    }

    /// A depth-0 model has one leaf: balanced by definition, entropy 1.
    @Test func singleLeafEntropyIsOne() throws {
        let golden = try F.golden("depth0_l4")
        let directory = try TemporaryDirectory()
        let inputs = directory.path("inputs.f32")
        try F.Encoding.f32(golden.inputs).write(to: URL(fileURLWithPath: inputs))
        let labels = directory.path("labels.txt")
        try Data(golden.argmax.map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: labels))
        let result = try F.fffrun(["eval", golden.modelPath, "--inputs", inputs, "--input-format", "f32", "--labels", labels])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.lines.contains("normalised entropy: 1.0000 (1 = perfectly balanced)"))
        #expect(result.lines.contains("unused leaves: 0 of 1"))
    }

    @Test func countMismatchesAndBadLabels() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        func labels(_ name: String, _ text: String) throws -> String {
            let path = directory.path(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let all = demo.labels.map(String.init)
        let cases: [(String, String, [String])] = [
            (try labels("short.txt", all.dropLast().joined(separator: "\n")), "ends after 359 labels", ["record 360"]),
            (try labels("long.txt", (all + ["3"]).joined(separator: "\n")), "more labels than the 360 records", []),
            (try labels("range.txt", (Array(all.prefix(6)) + ["10"] + all.dropFirst(7)).joined(separator: "\n")), "label 7", ["'10'"]),
            (try labels("name.txt", (Array(all.prefix(2)) + ["seven"] + all.dropFirst(3)).joined(separator: "\n")), "label 3", ["'seven'"]),
            (try labels("gap.txt", (Array(all.prefix(4)) + [""] + all.dropFirst(4)).joined(separator: "\n")), "line 5 is empty", []),
        ]
        for (path, message, more) in cases {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", path])
            #expect(result.status == 65, "\(path): \(result.stderr)")
            #expect(result.stdoutData.isEmpty)
            for text in [message] + more {
                #expect(result.stderr.contains(text), "\(path): \(result.stderr)")
            }
        }
        // Declared counts that differ (IDX inputs, NPY labels) are caught before any work.
        let inputs = directory.path("images.idx")
        try F.Encoding.idx(demo.records, float: false).write(to: URL(fileURLWithPath: inputs))
        let npy = directory.path("labels.npy")
        try F.Encoding.npyLabels(Array(demo.labels.prefix(100))).write(to: URL(fileURLWithPath: npy))
        let declared = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", npy])
        #expect(declared.status == 65)
        #expect(declared.stderr.contains("360 records") && declared.stderr.contains("100 labels"), "stderr: \(declared.stderr)")
        // An out-of-range binary label names its number.
        var bad = demo.labels
        bad[41] = 12
        let badNPY = directory.path("bad.npy")
        try F.Encoding.npyLabels(bad).write(to: URL(fileURLWithPath: badNPY))
        let range = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", badNPY])
        #expect(range.status == 65)
        #expect(range.stderr.contains("label 42"), "stderr: \(range.stderr)")
        // A bad input record names its record.
        var csv = try String(contentsOfFile: demo.csvPath, encoding: .utf8).split(separator: "\n").map(String.init)
        csv[99] = "1,2,3"
        let badInputs = directory.path("bad.csv")
        try Data(csv.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: badInputs))
        let record = try F.fffrun(["eval", demo.modelPath, "--inputs", badInputs, "--labels", demo.labelsPath])
        #expect(record.status == 65)
        #expect(record.stderr.contains("record 100"), "stderr: \(record.stderr)")
        #expect(record.stdoutData.isEmpty)
    }

    @Test func missingFiles() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let missing = directory.path("missing")
        for arguments in [["--inputs", missing, "--labels", demo.labelsPath], ["--inputs", demo.csvPath, "--labels", missing]] {
            let result = try F.fffrun(["eval", demo.modelPath] + arguments)
            #expect(result.status == 66, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(missing))
        }
        #expect(try F.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath]).status == 64)
        #expect(try F.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", demo.labelsPath, "--labels-format", "xml"]).status == 64)
    }

    /// No records and no labels: a report of nothing, exit 0.
    @Test func emptyInputs() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let empty = directory.path("empty")
        try Data().write(to: URL(fileURLWithPath: empty))
        let result = try F.fffrun(["eval", demo.modelPath, "--inputs", empty, "--labels", empty])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.lines.first == "accuracy: n/a (0 of 0)")
        let json = try F.fffrun(["eval", demo.modelPath, "--inputs", empty, "--labels", empty, "--json"])
        let root = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(root["records"] as? Int == 0)
        #expect(root["accuracy"] is NSNull)
    }
}
