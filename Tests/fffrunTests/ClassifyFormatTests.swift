import Foundation
import Testing
import FastFeedforward

/// `fffrun classify` on every input format, compared with the float64 reference's answers
/// (fixtures/demo, fixtures/golden, or tools/pyfff/reference.py run here).
@Suite struct ClassifyFormatTests {
    typealias F = ClassifyFixtures

    /// One way of encoding records for standard input.
    struct InputEncoding: Sendable, CustomTestStringConvertible {
        let name: String
        /// `--input-format` value, or nil to let `auto` detect it.
        let format: String?
        let gzip: Bool
        let encode: @Sendable ([[Float]]) -> Data

        var testDescription: String { name + (gzip ? ".gz" : "") + (format == nil ? " (auto)" : "") }

        func data(_ records: [[Float]]) throws -> Data {
            let raw = encode(records)
            return gzip ? try F.Encoding.gzip(raw) : raw
        }

        var arguments: [String] { format.map { ["--input-format", $0] } ?? [] }
    }

    /// Every format, plain and gzip-compressed; text and container formats also through auto.
    static let encodings: [InputEncoding] = {
        let base: [(String, String?, @Sendable ([[Float]]) -> Data)] = [
            ("csv", "csv", { F.Encoding.text($0, separator: ",") }),
            ("tsv", "tsv", { F.Encoding.text($0, separator: "\t") }),
            ("text", "text", { F.Encoding.text($0, separator: " ") }),
            ("f32", "f32", { F.Encoding.f32($0) }),
            ("f64", "f64", { F.Encoding.f64($0) }),
            ("u8", "u8", { F.Encoding.u8($0) }),
            ("idx-u8", "idx", { F.Encoding.idx($0, float: false) }),
            ("idx-f32-8x8", "idx", { F.Encoding.idx($0, float: true, shape: [8, 8]) }),
            ("npy-f4", "npy", { F.Encoding.npy($0, descr: "<f4") }),
            ("npy-u1", "npy", { F.Encoding.npy($0, descr: "|u1") }),
            ("csv", nil, { F.Encoding.text($0, separator: ",") }),
            ("tsv", nil, { F.Encoding.text($0, separator: "\t") }),
            ("text", nil, { F.Encoding.text($0, separator: " ") }),
            ("idx-u8", nil, { F.Encoding.idx($0, float: false) }),
            ("npy-f8", nil, { F.Encoding.npy($0, descr: "<f8") }),
        ]
        return base.flatMap { name, format, encode in
            [false, true].map { InputEncoding(name: name, format: format, gzip: $0, encode: encode) }
        }
    }()

    /// The 360 demo digits (pixels 0...16, no near-ties) in every format: every record's class
    /// and leaf equal the reference's.
    @Test(arguments: encodings)
    func demoDigitsInEveryFormat(encoding: InputEncoding) throws {
        let demo = try F.demo()
        let result = try F.fffrun(["classify", demo.modelPath, "--output", "index", "--leaf"] + encoding.arguments,
                                  stdin: try encoding.data(demo.records))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)
        let expected = zip(demo.argmax, demo.leaves).map { "\($0)\t\($1)" }
        #expect(result.lines == expected)
    }

    /// The default output of a model with labels is the label; `--output index` the index.
    @Test func defaultOutputIsTheLabel() throws {
        let demo = try F.demo()
        let result = try F.fffrun(["classify", demo.modelPath], stdin: F.Encoding.text(demo.records, separator: ","))
        #expect(result.status == 0)
        // The demo model's labels are "0" ... "9".
        #expect(result.lines == demo.argmax.map(String.init))
    }

    /// Every golden model (fixtures/golden), fed raw f32 records, in JSON with every class
    /// ranked: index, leaf, score, prob and the ranking agree with the reference within §14.3
    /// (near-ties and records whose top two outputs are within tolerance excluded, counted).
    @Test(arguments: try ClassifyFixtures.goldenNames())
    func goldenModelsAgreeWithTheReference(name: String) throws {
        let golden = try F.golden(name)
        let o = golden.outputWidth
        let result = try F.fffrun(["classify", golden.modelPath, "--input-format", "f32", "--output", "json", "--top-k", String(o)],
                                  stdin: F.Encoding.f32(golden.inputs))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.lines
        try #require(lines.count == golden.inputs.count)
        var excluded = 0
        for (r, line) in lines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let reference = golden.outputs[r]
            let probabilities = F.softmax(reference)
            let index = try #require(object["index"] as? Int)
            if golden.argmaxIsDetermined(r) {
                #expect(index == golden.argmax[r], "\(name) record \(r + 1)")
            } else {
                excluded += 1
            }
            // A near-tie may take the other child: then leaf and outputs are another leaf's.
            guard golden.leafIsDetermined(r) else { continue }
            #expect(object["leaf"] as? Int == golden.leaves[r], "\(name) record \(r + 1)")
            let score = try #require((object["score"] as? NSNumber)?.doubleValue)
            #expect(abs(score - reference[index]) <= F.tolerance(reference, reference[index]), "\(name) record \(r + 1)")
            let top = try #require(object["top"] as? [[String: Any]])
            #expect(top.count == o)
            #expect(Set(top.compactMap { $0["index"] as? Int }) == Set(0..<o), "the ranking holds every class once")
            #expect(top.first?["index"] as? Int == index)
            var previous = Double.infinity
            for entry in top {
                let c = try #require(entry["index"] as? Int)
                let s = try #require((entry["score"] as? NSNumber)?.doubleValue)
                let p = try #require((entry["prob"] as? NSNumber)?.doubleValue)
                #expect(abs(s - reference[c]) <= F.tolerance(reference, reference[c]), "\(name) record \(r + 1) class \(c)")
                #expect(abs(p - probabilities[c]) <= 1e-4 * (1 + probabilities[c]) + 1e-3 * F.tolerance(reference, reference[c]),
                        "\(name) record \(r + 1) class \(c): prob \(p), reference \(probabilities[c])")
                #expect(s <= previous, "ranked best first")
                previous = s
            }
        }
        print("\(name): \(excluded) of \(lines.count) records excluded from the argmax comparison (near-ties or top-two gaps within tolerance)")
    }

    /// The golden records as text (csv, their shortest round-trip decimals) and as f64 give
    /// byte-identical output to f32: the same Float values reach the model. The scores agree
    /// with the reference within §14.3.
    @Test(arguments: ["mnist_like_d3_l2_m8", "act_silu_m4", "conformance_depth6_gelu", "depth7_small"])
    func goldenTextAndF64MatchF32(name: String) throws {
        let golden = try F.golden(name)
        let arguments = ["classify", golden.modelPath, "--output", "scores", "--leaf"]
        let f32 = try F.fffrun(arguments + ["--input-format", "f32"], stdin: F.Encoding.f32(golden.inputs))
        #expect(f32.status == 0, "stderr: \(f32.stderr)")
        for (format, data) in [("csv", F.Encoding.text(golden.inputs, separator: ",")),
                               ("f64", F.Encoding.f64(golden.inputs)),
                               ("npy", F.Encoding.npy(golden.inputs, descr: "<f4")),
                               ("idx", F.Encoding.idx(golden.inputs, float: true))] {
            let other = try F.fffrun(arguments + ["--input-format", format], stdin: data)
            #expect(other.status == 0, "\(format): \(other.stderr)")
            #expect(other.stdout == f32.stdout, "\(format) differs from f32")
        }
        for (r, line) in f32.lines.enumerated() where golden.leafIsDetermined(r) {
            let fields = line.split(separator: "\t").map(String.init)
            try #require(fields.count == golden.outputWidth + 1)
            for (o, field) in fields.dropLast().enumerated() {
                let value = try #require(Double(field))
                #expect(abs(value - golden.outputs[r][o]) <= F.tolerance(golden.outputs[r], golden.outputs[r][o]),
                        "\(name) record \(r + 1) output \(o)")
            }
            #expect(Int(fields.last!) == golden.leaves[r])
        }
    }

    /// A model built here with FFFModel and FFFWriter, on pixel records in u8, csv and IDX,
    /// against pyfff.reference run in a python3 subprocess; labels with a tab are escaped.
    @Test func builtModelAgreesWithThePythonReference() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("built.fff")
        let model = try F.builtModel()
        try FFFWriter.write(model, to: path)
        let records = F.pixelRecords(count: 300, width: model.inputWidth, seed: 7)
        let reference = try F.reference(model: path, records: records)
        let labels = ["cat", "dog", "zèbre", "tab\\there"]
        var compared = 0
        for (format, data) in [("u8", F.Encoding.u8(records)), ("csv", F.Encoding.text(records, separator: ",")),
                               ("idx", F.Encoding.idx(records, float: false))] {
            let result = try F.fffrun(["classify", path, "--input-format", format, "--leaf"], stdin: data)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            try #require(result.lines.count == records.count)
            compared = 0
            for (r, line) in result.lines.enumerated() where !reference.near_tie[r] {
                let sorted = reference.outputs[r].sorted(by: >)
                guard sorted[0] - sorted[1] > 2 * F.tolerance(reference.outputs[r], sorted[0]) else { continue }
                #expect(line == "\(labels[reference.argmax[r]])\t\(reference.leaves[r])", "\(format) record \(r + 1)")
                compared += 1
            }
        }
        #expect(compared > 250, "too few determined records: \(compared)")
        print("builtModel: \(compared) of \(records.count) records compared (the rest are near-ties or within tolerance)")
    }

    /// `--raw` skips the model's preprocessing: the demo pixels preprocessed here
    /// (`p * 0.125 - 1`, exact in float32) give the reference's answers with --raw, and the raw
    /// pixels with --raw give pyfff.reference's answers without preprocessing.
    @Test func rawSkipsPreprocessing() throws {
        let demo = try F.demo()
        let preprocessed = demo.records.map { $0.map { $0 * 0.125 - 1 } }
        let result = try F.fffrun(["classify", demo.modelPath, "--raw", "--output", "index", "--input-format", "f32"],
                                  stdin: F.Encoding.f32(preprocessed))
        #expect(result.status == 0)
        #expect(result.lines == demo.argmax.map(String.init))

        let sample = Array(demo.records.prefix(100))
        let reference = try F.reference(model: demo.modelPath, records: sample, applyPreprocessing: false)
        let unprocessed = try F.fffrun(["classify", demo.modelPath, "--raw", "--output", "index", "--leaf"],
                                       stdin: F.Encoding.text(sample, separator: ","))
        #expect(unprocessed.status == 0)
        var differs = false
        for (r, line) in unprocessed.lines.enumerated() where !reference.near_tie[r] {
            let sorted = reference.outputs[r].sorted(by: >)
            guard sorted[0] - sorted[1] > 2 * F.tolerance(reference.outputs[r], sorted[0]) else { continue }
            #expect(line == "\(reference.argmax[r])\t\(reference.leaves[r])", "record \(r + 1)")
            if reference.argmax[r] != demo.argmax[r] { differs = true }
        }
        #expect(differs, "the preprocessing should change some prediction, or this test shows nothing")
    }

    /// probs and scores with --top-k: `CLASS:VALUE` fields, best first, the reference's order.
    @Test func topKTextFields() throws {
        let golden = try F.golden("conformance_wide_leaf")
        let result = try F.fffrun(["classify", golden.modelPath, "--input-format", "f32", "--output", "probs", "--top-k", "3"],
                                  stdin: F.Encoding.f32(golden.inputs))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let model = try FFFReader.read(contentsOf: golden.modelPath)
        let labels = try #require(model.labels)
        for (r, line) in result.lines.enumerated() where golden.argmaxIsDetermined(r) {
            let fields = line.split(separator: "\t").map(String.init)
            try #require(fields.count == 3)
            let first = try #require(fields[0].lastIndex(of: ":"))
            #expect(String(fields[0][..<first]) == labels[golden.argmax[r]], "record \(r + 1)")
            let p = try #require(Double(fields[0][fields[0].index(after: first)...]))
            #expect(abs(p - F.softmax(golden.outputs[r])[golden.argmax[r]]) < 1e-3)
        }
        let indexTop = try F.fffrun(["classify", golden.modelPath, "--input-format", "f32", "--output", "index", "--top-k", "2"],
                                    stdin: F.Encoding.f32(golden.inputs))
        for (r, line) in indexTop.lines.enumerated() where golden.argmaxIsDetermined(r) {
            let ranked = golden.outputs[r].enumerated().sorted { $0.element > $1.element }.map(\.offset)
            let fields = line.split(separator: "\t").map { Int($0) }
            #expect(fields.first == ranked[0], "record \(r + 1)")
            #expect(fields.count == 2)
        }
    }

    /// `--files`: one record per file in .npy, .npy.gz, .csv, .f32 and .pgm files; output is
    /// PATH<TAB>RESULT in list order, equal to the reference.
    @Test func filesModeReadsOneRecordPerFile() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        var list = ""
        var expected: [String] = []
        for r in 0..<60 {
            let record = [demo.records[r]]
            let path: String
            let data: Data
            switch r % 5 {
            case 0: path = directory.path("r\(r).npy"); data = F.Encoding.npy(record, descr: "<f4")
            case 1: path = directory.path("r\(r).npy.gz"); data = try F.Encoding.gzip(F.Encoding.npy(record, descr: "|u1"))
            case 2: path = directory.path("r\(r).csv"); data = F.Encoding.text(record, separator: ",")
            case 3: path = directory.path("r\(r).f32"); data = F.Encoding.f32(record)
            default:
                path = directory.path("r\(r) with space.pgm")
                data = Data("P5\n8 8\n16\n".utf8) + F.Encoding.u8(record)
            }
            try data.write(to: URL(fileURLWithPath: path))
            list += path + "\n"
            if r == 10 { list += "\n" }  // blank lines are skipped
            expected.append("\(path)\t\(demo.argmax[r])\t\(demo.leaves[r])")
        }
        let result = try F.fffrun(["classify", demo.modelPath, "--files", "--output", "index", "--leaf"], stdin: Data(list.utf8))
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.lines == expected)

        let json = try F.fffrun(["classify", demo.modelPath, "--files", "--output", "json", "--threads", "1"],
                                stdin: Data(list.utf8))
        #expect(json.status == 0)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(json.lines[0].utf8)) as? [String: Any])
        #expect(first["path"] as? String == directory.path("r0.npy"))
        #expect(first["index"] as? Int == demo.argmax[0])
    }

    /// --threads 1, 2 and 3 give byte-identical output, over several blocks.
    @Test func threadCountsGiveIdenticalOutput() throws {
        let golden = try F.golden("mnist_like_d3_l2_m8")
        // 32 records x 200 = 6400 records of 784 values: more than one block (1337 records).
        let records = Array(repeating: golden.inputs, count: 200).flatMap { $0 }
        let data = F.Encoding.f32(records)
        var outputs: [Data] = []
        for threads in ["1", "2", "3"] {
            let result = try F.fffrun(["classify", golden.modelPath, "--input-format", "f32", "--output", "scores", "--leaf",
                                       "--threads", threads], stdin: data)
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(result.lines.count == records.count)
            outputs.append(result.stdoutData)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0] == outputs[2])
    }

    /// Empty input, in every format: no output, no message, exit 0.
    @Test(arguments: ["auto", "csv", "tsv", "text", "f32", "f64", "u8", "idx", "npy"])
    func emptyInputGivesNothing(format: String) throws {
        let demo = try F.demo()
        for stdin in [Data(), try F.Encoding.gzip(Data())] {
            let result = try F.fffrun(["classify", demo.modelPath, "--input-format", format], stdin: stdin)
            #expect(result.status == 0)
            #expect(result.stdoutData.isEmpty)
            #expect(result.stderr.isEmpty)
        }
    }

    /// `--allow-nonfinite` lets NaN records through; the reference routes a NaN score left and
    /// NaN outputs rank first, so such a record is class 0, and its JSON numbers are null.
    @Test func allowNonFiniteAcceptsNaN() throws {
        let demo = try F.demo()
        var text = F.Encoding.text(Array(demo.records.prefix(2)), separator: ",")
        text += Data((Array(repeating: "nan", count: 64).joined(separator: ",") + "\n").utf8)
        let refused = try F.fffrun(["classify", demo.modelPath, "--output", "index"], stdin: text)
        #expect(refused.status == 65)
        #expect(refused.lines == demo.argmax.prefix(2).map(String.init))
        #expect(refused.stderr.contains("record 3"))
        let allowed = try F.fffrun(["classify", demo.modelPath, "--output", "json", "--allow-nonfinite"], stdin: text)
        #expect(allowed.status == 0, "stderr: \(allowed.stderr)")
        try #require(allowed.lines.count == 3)
        let reference = try F.reference(model: demo.modelPath, records: [Array(repeating: Float.nan, count: 64)])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(allowed.lines[2].utf8)) as? [String: Any])
        #expect(object["index"] as? Int == reference.argmax[0])
        #expect(object["leaf"] as? Int == reference.leaves[0])
        #expect(object["score"] is NSNull)
    }
}
