import Foundation
import Testing
import FastFeedforward

private typealias F = ClassifyFixtures

/// `fffrun compare`: its agreement figures against the float64 reference's answers for both
/// models (tools/pyfff/reference.py), never against fffrun's own.
@Suite struct CompareCommandTests {
    /// The demo model with the output bias of leaves 2 and 5 moved: the same tree, so leaves
    /// agree on every record, while the answers of the records in those leaves may change.
    private static func variantOfDemo(in directory: TemporaryDirectory) throws -> String {
        let demo = try FFFReader.read(contentsOf: try F.demo().modelPath)
        var biases = demo.leafOutputBiases
        for o in 0..<demo.outputWidth {
            biases[2 * demo.outputWidth + o] += Float(o) * 0.75
            biases[5 * demo.outputWidth + o] -= Float(o % 3) * 1.5
        }
        let variant = try FFFModel(
            inputWidth: demo.inputWidth, outputWidth: demo.outputWidth, depth: demo.depth, leafWidth: demo.leafWidth,
            activation: demo.activation, preprocessing: demo.preprocessing,
            nodeWeights: demo.nodeWeights, nodeBiases: demo.nodeBiases,
            leafHiddenWeights: demo.leafHiddenWeights, leafHiddenBiases: demo.leafHiddenBiases,
            leafOutputWeights: demo.leafOutputWeights, leafOutputBiases: biases,
            masterLeaf: demo.masterLeaf, labels: demo.labels)
        let path = directory.path("variant.fff")
        try FFFWriter.write(variant, to: path)
        return path
    }

    /// With 2 or 3 threads the two models' engines share one pool of threads.
    @Test(arguments: [1, 2, 3]) func agreementMatchesTheReference(threads: Int) throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let variant = try Self.variantOfDemo(in: directory)
        let a = try F.reference(model: demo.modelPath, records: demo.records)
        let b = try F.reference(model: variant, records: demo.records)
        #expect(!a.near_tie.contains(true) && !b.near_tie.contains(true))
        let sameClass = zip(a.argmax, b.argmax).filter { $0 == $1 }.count
        let correctB = zip(b.argmax, demo.labels).filter { $0 == $1 }.count
        var largest = 0.0
        for (x, y) in zip(a.outputs, b.outputs) { for (p, q) in zip(x, y) { largest = max(largest, abs(p - q)) } }
        #expect(sameClass < 360 && sameClass > 200, "the variant should change some answers")

        let result = try F.fffrun(["compare", demo.modelPath, variant, "--inputs", demo.csvPath, "--labels", demo.labelsPath,
                                   "--threads", String(threads)])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.lines
        #expect(lines.first == "records: 360")
        #expect(lines.contains("argmax agreement: \(String(format: "%.2f", Double(sameClass) / 3.6))% (\(sameClass) of 360)"), "\(lines)")
        #expect(lines.contains("leaf agreement: 100.00% (360 of 360)"), "\(lines)")
        #expect(lines.contains("accuracy of \(demo.modelPath): 92.22% (332 of 360)"), "\(lines)")
        #expect(lines.contains("accuracy of \(variant): \(String(format: "%.2f", Double(correctB) / 3.6))% (\(correctB) of 360)"), "\(lines)")

        let json = try F.fffrun(["compare", demo.modelPath, variant, "--inputs", demo.csvPath, "--json",
                                 "--threads", String(threads)])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(object["argmax_same"] as? Int == sameClass && object["leaf_same"] as? Int == 360)
        let measured = try #require(object["max_abs_difference"] as? Double)
        #expect(abs(measured - largest) <= 1e-4 * (1 + largest), "\(measured) vs reference \(largest)")
    }

    /// Labels as text and as IDX (decoded a block at a time): the accuracy of the reference's
    /// answers; a label that is not a class and labels that end early are named as eval names
    /// them.
    @Test func labelsAreCountedAndTheirErrorsNamed() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let a = try F.reference(model: demo.modelPath, records: demo.records)
        let correct = zip(a.argmax, demo.labels).filter { $0 == $1 }.count
        let idxLabels = directory.path("labels.idx")
        try EvalLabelsTests.idx(demo.labels).write(to: URL(fileURLWithPath: idxLabels))
        let inputs = "inputs '\(demo.csvPath)'"
        for labels in [demo.labelsPath, idxLabels] {
            let result = try F.fffrun(["compare", demo.modelPath, demo.modelPath, "--inputs", demo.csvPath, "--labels", labels])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.contains("accuracy of \(demo.modelPath): \(String(format: "%.2f", Double(correct) / 3.6))% (\(correct) of 360)"),
                    "\(result.lines)")
        }
        var wrong = demo.labels
        wrong[200] = 12
        try EvalLabelsTests.idx(wrong).write(to: URL(fileURLWithPath: idxLabels))
        let bad = try F.fffrun(["compare", demo.modelPath, demo.modelPath, "--inputs", demo.csvPath, "--labels", idxLabels])
        #expect(bad.status == 65)
        #expect(bad.stderr == "fffrun compare: labels file '\(idxLabels)', label 201: 12.0 is not a class index 0...9\n")
        try EvalLabelsTests.idx(Array(demo.labels.prefix(300))).write(to: URL(fileURLWithPath: idxLabels))
        let short = try F.fffrun(["compare", demo.modelPath, demo.modelPath, "--inputs", demo.csvPath, "--labels", idxLabels])
        #expect(short.status == 65)
        #expect(short.stderr == "fffrun compare: labels file '\(idxLabels)' ends after 300 labels, but \(inputs) has more records (record 301 has no label)\n")
    }

    @Test func aModelAgreesWithItselfAndShapesMustMatch() throws {
        let demo = try F.demo()
        let same = try F.fffrun(["compare", demo.modelPath, demo.modelPath, "--inputs", "-"],
                                stdin: try Data(contentsOf: URL(fileURLWithPath: demo.csvPath)))
        #expect(same.status == 0)
        #expect(same.lines.contains("argmax agreement: 100.00% (360 of 360)") && same.lines.contains("max |difference| of an output: 0.0 (record 1, output 0)"),
                "\(same.lines)")
        let other = F.fixtures.appendingPathComponent("golden/models/depth0_l4.fff").path
        let mismatch = try F.fffrun(["compare", demo.modelPath, other, "--inputs", demo.csvPath])
        #expect(mismatch.status == 65 && mismatch.stderr.contains("differ in shape"), "\(mismatch.stderr)")
        let both = try F.fffrun(["compare", demo.modelPath, demo.modelPath, "--inputs", "-", "--labels", "-"])
        #expect(both.status == 64)
    }
}
