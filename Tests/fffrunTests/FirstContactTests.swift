import Foundation
import Testing
import FastFeedforward

private typealias F = ClassifyFixtures

/// The traps a new user meets first (issue 11): each ordinary mistake gets a clear message or
/// a note instead of a wrong answer with exit 0, and fffrun follows the conventions of Unix
/// filters. Expected answers come from the demo's golden file (the float64 reference), never
/// from fffrun itself.
@Suite struct FirstContactTests {
    /// The demo's records as CSV lines of integers (the pixels are 0...16).
    private static func csvLines(_ records: [[Float]]) -> [String] {
        records.map { $0.map { String(Int($0)) }.joined(separator: ",") }
    }

    private static func write(_ text: String, _ name: String, in directory: TemporaryDirectory) throws -> String {
        let path = directory.path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `command` under `script(1)`, so that fffrun's standard error is a terminal; returns
    /// what the terminal showed.
    private static func onTerminal(_ command: String) throws -> String {
        let result = try F.run("script", ["-qec", command, "/dev/null"])
        #expect(result.status == 0, "script: \(result.stderr)")
        return result.stdout
    }

    // MARK: Trap 2: a numeric header

    /// pandas' `DataFrame(a).to_csv(index=False)` writes `0,1,...,63` first: it is a header,
    /// skipped with a note, and every answer stays on its own record.
    @Test func columnNumberHeaderIsSkippedWithANote() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let header = (0..<64).map(String.init).joined(separator: ",")
        for (name, first) in [("zero-based", header), ("one-based", (1...64).map(String.init).joined(separator: ","))] {
            let path = try Self.write(([first] + Self.csvLines(demo.records)).joined(separator: "\n") + "\n", "\(name).csv", in: directory)
            let result = try F.fffrun(["classify", demo.modelPath, path, "--output", "index"])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.lines == demo.argmax.map(String.init), "\(name): answers shifted or wrong")
            #expect(result.stderr.contains("numbers the columns") && result.stderr.contains("--header none"), "\(name): \(result.stderr)")
            // --header none reads it as record 1: 361 answers, the note gone.
            let asRecord = try F.fffrun(["classify", demo.modelPath, path, "--header", "none", "--output", "index"])
            #expect(asRecord.status == 0 && asRecord.lines.count == 361 && asRecord.stderr.isEmpty)
            let quiet = try F.fffrun(["classify", demo.modelPath, path, "-q", "--output", "index"])
            #expect(quiet.stderr.isEmpty && quiet.lines == demo.argmax.map(String.init))
        }
        // Numbers that do not count the columns are a record, as before.
        let near = (0..<64).map { $0 == 5 ? "7" : String($0) }.joined(separator: ",")
        let path = try Self.write(([near] + Self.csvLines(demo.records)).joined(separator: "\n") + "\n", "near.csv", in: directory)
        let result = try F.fffrun(["classify", demo.modelPath, path, "--output", "index"])
        #expect(result.status == 0 && result.lines.count == 361 && result.stderr.isEmpty)
    }

    /// `to_csv()` with its row index: the header starts with an empty field and every record
    /// with its index; the width error says so.
    @Test func rowIndexColumnIsExplained() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let header = "," + (0..<64).map(String.init).joined(separator: ",")
        let rows = Self.csvLines(demo.records).enumerated().map { "\($0),\($1)" }
        let path = try Self.write(([header] + rows).joined(separator: "\n") + "\n", "indexed.csv", in: directory)
        let result = try F.fffrun(["classify", demo.modelPath, path])
        #expect(result.status == 65)
        #expect(result.stderr.contains("has 65 values; the model expects 64") && result.stderr.contains("row index"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    // MARK: Trap 3: inputs preprocessed twice

    /// Pixels scaled to 0..1 or -1..1 fed to a model that maps 0..16 to -1..1: a note that names
    /// --raw, on classify and eval; raw pixels, --raw and -q give none.
    @Test func alreadyNormalisedInputsGetANote() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let unit = demo.records.map { $0.map { $0 / 16 } }
        let signed = demo.records.map { $0.map { $0 / 8 - 1 } }
        for (name, records) in [("unit", unit), ("signed", signed)] {
            let path = directory.path("\(name).f32")
            try F.Encoding.f32(records).write(to: URL(fileURLWithPath: path))
            let classify = try F.fffrun(["classify", demo.modelPath, path, "--input-format", "f32"])
            #expect(classify.status == 0)
            #expect(classify.stderr.contains("note:") && classify.stderr.contains("--raw"), "\(name): \(classify.stderr)")
            let eval = try F.fffrun(["eval", demo.modelPath, "--inputs", path, "--input-format", "f32", "--labels", demo.labelsPath])
            #expect(eval.status == 0 && eval.stderr.contains("--raw"), "\(name): \(eval.stderr)")
            let quiet = try F.fffrun(["classify", demo.modelPath, path, "--input-format", "f32", "-q"])
            #expect(quiet.stderr.isEmpty)
        }
        // Preprocessed exactly as the model would, then --raw: the golden answers, no note.
        let raw = try F.fffrun(["classify", demo.modelPath, "--raw", "--input-format", "f32", "--output", "index"],
                               stdin: F.Encoding.f32(signed))
        #expect(raw.stderr.isEmpty && raw.lines == demo.argmax.map(String.init))
        let pixels = try F.fffrun(["classify", demo.modelPath, demo.csvPath])
        #expect(pixels.stderr.isEmpty)
    }

    // MARK: Trap 5: one record per file, whatever its shape

    @Test func filesTakeAnImageShapedArrayAsOneRecord() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        var paths: [String] = []
        for r in 0..<5 {
            // An 8x8 image, as np.save(img) writes it.
            let data = F.Encoding.npy(demo.records[r].chunked(8), descr: "|u1")
            let path = directory.path("digit\(r).npy")
            try data.write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let result = try F.fffrun(["classify", demo.modelPath, "--files", "--output", "index"] + paths)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == (0..<5).map { "\(paths[$0])\t\(demo.argmax[$0])" })
        let listed = try F.fffrun(["classify", demo.modelPath, "--files", "--output", "index"],
                                  stdin: Data(paths.map { $0 + "\n" }.joined().utf8))
        #expect(listed.lines == result.lines)
    }

    // MARK: Trap 7: input files as arguments

    @Test func inputFilesAreArgumentsAndDashIsStandardInput() throws {
        let demo = try F.demo()
        let expected = demo.argmax.map(String.init)
        let named = try F.fffrun(["classify", demo.modelPath, demo.csvPath, "--output", "index"])
        #expect(named.status == 0 && named.lines == expected)
        let csv = try Data(contentsOf: URL(fileURLWithPath: demo.csvPath))
        let dash = try F.fffrun(["classify", demo.modelPath, "-", "--output", "index"], stdin: csv)
        #expect(dash.status == 0 && dash.lines == expected)
        // Several inputs in turn, each detected on its own: CSV, standard input (IDX), gzip.
        let directory = try TemporaryDirectory()
        let gz = directory.path("x.csv.gz")
        try F.Encoding.gzip(csv).write(to: URL(fileURLWithPath: gz))
        let three = try F.fffrun(["classify", demo.modelPath, demo.csvPath, "-", gz, "--output", "index"],
                                 stdin: F.Encoding.idx(demo.records, float: false, shape: [8, 8]))
        #expect(three.status == 0 && three.lines == expected + expected + expected, "\(three.stderr)")
        // A missing input: 66, after the answers of the inputs before it.
        let missing = try F.fffrun(["classify", demo.modelPath, demo.csvPath, directory.path("absent.csv"), "--output", "index"])
        #expect(missing.status == 66 && missing.lines == expected)
        #expect(missing.stderr.contains("absent.csv") && missing.stderr.contains("No such file"))
        // A bad record names its file.
        let bad = try Self.write("1,2,3\n", "bad.csv", in: directory)
        let wrong = try F.fffrun(["classify", demo.modelPath, bad])
        #expect(wrong.status == 65 && wrong.stderr.contains("'\(bad)': record 1 has 3 values"), "\(wrong.stderr)")
    }

    /// `fffrun classify model.fff` at a terminal says what it waits for instead of hanging in
    /// silence; with records piped in it says nothing.
    @Test func terminalInputIsAnnounced() throws {
        let demo = try F.demo()
        let binary = try FFFRunBinary.location.get().path
        let shown = try Self.onTerminal("'\(binary)' classify '\(demo.modelPath)'")
        #expect(shown.contains("reading records from the terminal") && shown.contains("Ctrl-D"), "\(shown)")
        let piped = try Self.onTerminal("'\(binary)' classify '\(demo.modelPath)' < '\(demo.csvPath)' > /dev/null")
        #expect(!piped.contains("terminal"), "\(piped)")
    }

    // MARK: Trap 8: files that are not records, and checkpoints that are not models

    @Test func foreignFilesGetAdvice() throws {
        let demo = try F.demo()
        let model = try Data(contentsOf: URL(fileURLWithPath: demo.modelPath))
        let cases: [(String, Data, [String])] = [
            ("npz", Data("PK\u{03}\u{04}".utf8) + Data(count: 40), ["zip archive", ".npz", "numpy.save"]),
            ("zstd", Data([0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x04]), ["zstd", "zstd -dc"]),
            ("xz", Data([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00]), ["xz", "xz -dc"]),
            ("png", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]), ["PNG image", "--input-format u8"]),
            ("pickle", Data([0x80, 0x02, 0x7D, 0x71]), ["pickle", "numpy.save"]),
            ("model", model, ["FFF model file", "fffrun classify MODEL.fff RECORDS"]),
        ]
        for (name, data, phrases) in cases {
            let result = try F.fffrun(["classify", demo.modelPath], stdin: data)
            #expect(result.status == 65, "\(name): \(result.stderr)")
            for phrase in phrases { #expect(result.stderr.contains(phrase), "\(name) lacks '\(phrase)': \(result.stderr)") }
            // gzip around it changes nothing.
            let zipped = try F.fffrun(["classify", demo.modelPath], stdin: F.Encoding.gzip(data))
            #expect(zipped.status == 65 && zipped.stderr.contains(phrases[0]), "\(name) in gzip: \(zipped.stderr)")
        }
        // A named format is taken at its word: PNG bytes as u8 are 12 pixels, a width error.
        let named = try F.fffrun(["classify", demo.modelPath, "--input-format", "u8"], stdin: cases[3].1)
        #expect(named.status == 65 && !named.stderr.contains("PNG"))
    }

    @Test func checkpointGivenAsModelPointsToTheConverter() throws {
        let checkpoint = F.fixtures.appendingPathComponent("demo/digits.pt").path
        for arguments in [["validate", checkpoint], ["info", checkpoint], ["classify", checkpoint]] {
            let result = try F.fffrun(arguments)
            #expect(result.status == 65, "\(arguments[0])")
            #expect((result.stdout + result.stderr).contains("bad-magic") && (result.stdout + result.stderr).contains("fff-convert"),
                    "\(arguments[0]): \(result.stdout)\(result.stderr)")
        }
    }

    // MARK: Trap 10: the conventions of a command-line tool

    @Test func versionUsageAndMistypedCommands() throws {
        let version = try F.fffrun(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("fffrun 1.") && version.stdout.contains("format 1.2"))
        let bare = try F.fffrun([])
        #expect(bare.status == 64 && bare.stdout.isEmpty)
        #expect(bare.stderr.contains("no command") && bare.stderr.contains("classify, eval"), "\(bare.stderr)")
        for (typed, meant) in [("clasify", "classify"), ("evl", "eval"), ("valdiate", "validate"), ("inf", "info")] {
            let result = try F.fffrun([typed, "x.fff"])
            #expect(result.status == 64, "\(typed)")
            #expect(result.stderr.contains("Did you mean '\(meant)'?"), "\(typed): \(result.stderr)")
        }
        let model = try F.fffrun(["model.fff"])
        #expect(model.status == 64 && model.stderr.contains("fffrun classify model.fff"))
        let help = try F.fffrun(["help", "classify"])
        #expect(help.status == 0 && help.stdout.contains("--top-k"))
    }

    /// At 80 columns no example of any --help is broken across lines, and no line is wider.
    @Test func helpFitsEightyColumns() throws {
        for command in [[], ["classify"], ["eval"], ["validate"], ["info"]] {
            let help = try F.fffrun(command + ["--help"], environment: ["COLUMNS": "80"])
            #expect(help.status == 0)
            for line in help.lines {
                #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)")
            }
            guard let start = help.lines.firstIndex(where: { $0.hasPrefix("Examples") }) else {
                Issue.record("\(command) --help has no examples")
                continue
            }
            for line in help.lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
                #expect(line.hasPrefix("  "), "\(command): an example wrapped: '\(line)'")
            }
        }
    }

    @Test func shellCompletionIsDocumentedAndGenerated() throws {
        #expect(try F.fffrun(["--help"]).stdout.contains("--generate-completion-script"))
        for shell in ["bash", "zsh", "fish"] {
            let script = try F.fffrun(["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("classify"), "\(shell)")
        }
    }

    /// The progress line shows the share done and the time left when the input declares its
    /// size (an IDX header on a pipe), and uses no escape sequence on a dumb terminal.
    @Test func progressShowsShareAndTimeLeft() throws {
        let demo = try F.demo()
        let directory = try TemporaryDirectory()
        let input = directory.path("many.idx")
        try F.Encoding.idx(Array(repeating: demo.records, count: 40).flatMap { $0 }, float: false, shape: [8, 8])
            .write(to: URL(fileURLWithPath: input))
        let binary = try FFFRunBinary.location.get().path
        // The producer stalls after a third of the records, so the line is drawn (after 1 s).
        let pipeline = "{ head -c 100000 '\(input)'; sleep 1.6; tail -c +100001 '\(input)'; } | '\(binary)' classify '\(demo.modelPath)' --threads 1 > /dev/null"
        for term in ["xterm", "dumb"] {
            let shown = try Self.onTerminal("bash -c \"export TERM=\(term); \(pipeline.replacingOccurrences(of: "\"", with: "\\\""))\"")
            #expect(shown.contains("records, ") && shown.contains("%") && shown.contains("left"), "\(term): \(shown.debugDescription)")
            #expect(shown.contains("\u{1B}") == (term != "dumb"), "\(term): \(shown.debugDescription)")
        }
    }
}

private extension Array where Element == Float {
    /// Rows of `width` values.
    func chunked(_ width: Int) -> [[Float]] {
        stride(from: 0, to: count, by: width).map { Array(self[$0 ..< Swift.min($0 + width, count)]) }
    }
}
