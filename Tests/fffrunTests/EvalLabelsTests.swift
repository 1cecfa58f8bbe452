import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun eval --labels`: labels read once from pipes, process substitution, FIFOs and
/// standard input, and the forgiving text forms (a header line, integral floats such as
/// numpy.savetxt's `%.18e`, several columns).
///
/// The reference is the demo set's plain labels file, whose accuracy fixtures/demo/README.md
/// records (92.22 %, 332 of 360): every variant below is written here from the same true
/// labels and must give the same report, byte for byte, as the plain file.
@Suite struct EvalLabelsTests {
    typealias F = ClassifyFixtures

    /// The accuracy line fixtures/demo/README.md states for the demo set.
    static let demoAccuracy = "accuracy: 92.22% (332 of 360)"

    /// An outcome of ``run(_:_:stdin:timeout:)``.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
        let timedOut: Bool
        var firstLine: String? { stdout.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) }
    }

    /// Runs `executable arguments` with `stdin` (a file) as standard input, killed after
    /// `timeout` seconds so that a hang fails the test instead of the run.
    static func run(_ executable: String, _ arguments: [String], stdin: Data = Data(),
                    timeout: Double = 60) throws -> Run {
        let directory = try TemporaryDirectory()
        let inPath = directory.path("stdin"), outPath = directory.path("stdout"), errPath = directory.path("stderr")
        try stdin.write(to: URL(fileURLWithPath: inPath))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let input = try #require(FileHandle(forReadingAtPath: inPath))
        let output = try #require(FileHandle(forWritingAtPath: outPath))
        let errors = try #require(FileHandle(forWritingAtPath: errPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        try input.close()
        try output.close()
        try errors.close()
        return Run(status: process.terminationStatus,
                   stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                   stderr: String(decoding: try Data(contentsOf: URL(fileURLWithPath: errPath)), as: UTF8.self),
                   timedOut: timedOut)
    }

    static func fffrun(_ arguments: [String], stdin: Data = Data(), timeout: Double = 60) throws -> Run {
        try run(try FFFRunBinary.location.get().path, arguments, stdin: stdin, timeout: timeout)
    }

    /// The demo set, its plain report (the reference, checked against the README's figure) and
    /// a directory for label files.
    struct Setup {
        let demo: ClassifyFixtures.Demo
        let reference: Run
        let directory: TemporaryDirectory

        func write(_ name: String, _ data: Data) throws -> String {
            let path = directory.path(name)
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }

        func write(_ name: String, lines: [String], ending: String = "\n") throws -> String {
            try write(name, Data(lines.map { $0 + ending }.joined().utf8))
        }

        /// `eval` of the demo inputs (a file) with `labels`.
        func eval(labels: String, _ extra: [String] = [], stdin: Data = Data()) throws -> Run {
            try EvalLabelsTests.fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", labels] + extra, stdin: stdin)
        }

        /// Whether `run` succeeded with the reference report.
        func expectReference(_ run: Run, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(!run.timedOut, "\(what): timed out (a hang)", sourceLocation: sourceLocation)
            #expect(run.status == 0, "\(what): exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
            #expect(run.firstLine == EvalLabelsTests.demoAccuracy, "\(what): \(run.stdout.prefix(200))", sourceLocation: sourceLocation)
            #expect(run.stdout == reference.stdout, "\(what): the report differs from the plain labels file's", sourceLocation: sourceLocation)
        }
    }

    static func setup() throws -> Setup {
        let demo = try F.demo()
        let reference = try fffrun(["eval", demo.modelPath, "--inputs", demo.csvPath, "--labels", demo.labelsPath])
        #expect(reference.status == 0, "stderr: \(reference.stderr)")
        #expect(reference.firstLine == demoAccuracy, "fixtures/demo/README.md records 92.22 %, 332 of 360")
        return Setup(demo: demo, reference: reference, directory: try TemporaryDirectory())
    }

    /// The demo's true labels as written by numpy.savetxt with its default format `%.18e`.
    static func savetxt(_ value: Int) -> String { String(format: "%.18e", Double(value)) }

    static func idx(_ labels: [Int]) -> Data {
        var data = Data([0, 0, 0x08, 1])
        withUnsafeBytes(of: UInt32(labels.count).bigEndian) { data.append(contentsOf: $0) }
        return data + Data(labels.map(UInt8.init))
    }

    // MARK: Trap 4: the labels file is opened once

    /// `--labels <(cat FILE)`: a pipe that can be read once (it used to be read twice and to
    /// end "after 0 labels"), in text, gzip text, IDX and NPY.
    @Test func processSubstitution() throws {
        let s = try Self.setup()
        let binary = try FFFRunBinary.location.get().path
        let files = [
            ("text", s.demo.labelsPath),
            ("gzip text", try s.write("labels.txt.gz", try F.Encoding.gzip(Data(try Data(contentsOf: URL(fileURLWithPath: s.demo.labelsPath)))))),
            ("idx", try s.write("labels.idx", Self.idx(s.demo.labels))),
            ("npy", try s.write("labels.npy", F.Encoding.npyLabels(s.demo.labels))),
            ("header and savetxt", try s.write("savetxt.txt", lines: ["label"] + s.demo.labels.map(Self.savetxt))),
        ]
        for (what, file) in files {
            let run = try Self.run("/bin/bash", ["-c", #"exec "$0" eval "$1" --inputs "$2" --labels <(cat "$3")"#,
                                                 binary, s.demo.modelPath, s.demo.csvPath, file])
            s.expectReference(run, "<(cat \(what))")
        }
        // A pipe named by /dev/stdin, fed by cat.
        let pipe = try Self.run("/bin/bash", ["-c", #"cat "$3" | "$0" eval "$1" --inputs "$2" --labels /dev/stdin"#,
                                              binary, s.demo.modelPath, s.demo.csvPath, s.demo.labelsPath])
        s.expectReference(pipe, "cat | --labels /dev/stdin")
    }

    /// A named pipe (mkfifo): opened once, so the writer's labels are all read (a second open
    /// used to wait forever for a writer that had gone).
    @Test func namedPipe() throws {
        let s = try Self.setup()
        for (name, file) in [("fifo-text", s.demo.labelsPath),
                             ("fifo-idx", try s.write("labels.idx", Self.idx(s.demo.labels)))] {
            let fifo = s.directory.path(name)
            #expect(mkfifo(fifo, 0o600) == 0, "mkfifo: \(String(cString: strerror(errno)))")
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/sh")
            writer.arguments = ["-c", #"exec cat "$0" > "$1""#, file, fifo]
            try writer.run()
            let run = try s.eval(labels: fifo)
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
            writer.waitUntilExit()
            s.expectReference(run, name)
        }
    }

    /// `--labels -` reads the labels from standard input (inputs from a file).
    @Test func labelsFromStandardInput() throws {
        let s = try Self.setup()
        let plain = try Data(contentsOf: URL(fileURLWithPath: s.demo.labelsPath))
        s.expectReference(try s.eval(labels: "-", stdin: plain), "--labels - (text)")
        s.expectReference(try s.eval(labels: "-", ["--labels-format", "text"], stdin: plain), "--labels - --labels-format text")
        s.expectReference(try s.eval(labels: "-", stdin: try F.Encoding.gzip(plain)), "--labels - (gzip)")
        s.expectReference(try s.eval(labels: "-", stdin: Self.idx(s.demo.labels)), "--labels - (idx)")
        s.expectReference(try s.eval(labels: "-", ["--labels-format", "npy"], stdin: F.Encoding.npyLabels(s.demo.labels)),
                          "--labels - --labels-format npy")
    }

    /// IDX byte labels are checked byte by byte (no Float decode): the highest class (9 of 10)
    /// counts, the class count itself (10) is not a class and is named with its place, as is
    /// 255; the demo's own labels give the reference report.
    @Test func idxByteLabelsAtTheClassBoundary() throws {
        let s = try Self.setup()
        s.expectReference(try s.eval(labels: try s.write("plain.idx", Self.idx(s.demo.labels))), "idx labels")
        var nines = s.demo.labels
        nines[0] = 9
        let nine = try s.eval(labels: try s.write("nine.idx", Self.idx(nines)))
        #expect(nine.status == 0, "stderr: \(nine.stderr)")
        for (bad, place) in [(10, 137), (255, 360)] {
            var labels = s.demo.labels
            labels[place - 1] = bad
            let path = try s.write("bad-\(bad).idx", Self.idx(labels))
            let run = try s.eval(labels: path)
            #expect(run.status == 65, "label \(bad): stderr: \(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(run.stderr == "fffrun eval: labels file '\(path)', label \(place): \(bad).0 is not a class index 0...9\n",
                    "label \(bad)")
        }
        // Float labels take the other path: whole numbers count, 3.5 is named.
        var floats = s.demo.labels.map { [Float($0)] }
        let whole = try s.eval(labels: try s.write("float.npy", F.Encoding.npy(floats, descr: "<f4")))
        s.expectReference(whole, "float32 labels")
        floats[41] = [3.5]
        let path = try s.write("half.npy", F.Encoding.npy(floats, descr: "<f4"))
        let half = try s.eval(labels: path)
        #expect(half.status == 65)
        #expect(half.stderr == "fffrun eval: labels file '\(path)', label 42: 3.5 is not a class index 0...9\n")
    }

    /// Inputs and labels cannot both be standard input: a usage error (64) saying so.
    @Test func bothFromStandardInput() throws {
        let s = try Self.setup()
        let run = try Self.fffrun(["eval", s.demo.modelPath, "--inputs", "-", "--labels", "-"],
                                  stdin: try Data(contentsOf: URL(fileURLWithPath: s.demo.csvPath)), timeout: 30)
        #expect(!run.timedOut)
        #expect(run.status == 64, "stderr: \(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("--inputs") && run.stderr.contains("--labels") && run.stderr.contains("standard input"),
                "stderr: \(run.stderr)")
    }

    // MARK: Trap 9: forgiving text labels

    /// A first line that is not a label (`label`, `Class`, `true label`) is a header, skipped;
    /// with a BOM and CRLF too, and gzip. A first line that is a number is a label.
    @Test func headerLine() throws {
        let s = try Self.setup()
        let labels = s.demo.labels.map(String.init)
        s.expectReference(try s.eval(labels: try s.write("label.txt", lines: ["label"] + labels)), "header label")
        s.expectReference(try s.eval(labels: try s.write("class.txt", lines: ["\u{FEFF}Class"] + labels, ending: "\r\n")),
                          "BOM, header Class, CRLF")
        s.expectReference(try s.eval(labels: try s.write("true.txt", lines: ["true label"] + labels)), "header 'true label'")
        s.expectReference(try s.eval(labels: try s.write("label.txt.gz", try F.Encoding.gzip(Data((["label"] + labels).map { $0 + "\n" }.joined().utf8)))),
                          "gzip with header")
        let verbose = try s.eval(labels: s.directory.path("label.txt"), ["--verbose"])
        #expect(verbose.status == 0)
        #expect(verbose.stderr.contains("header") && verbose.stderr.contains("'label'"), "stderr: \(verbose.stderr)")
        // A first line that is a number, or not text, is a label: an error when it is a bad one.
        for (name, first, shown) in [("twelve.txt", "12", "'12'"), ("binary.txt", "\u{01}\u{02}x", "'\\x01\\x02x'")] {
            let run = try s.eval(labels: try s.write(name, lines: [first] + labels))
            #expect(run.status == 65)
            #expect(run.stderr.contains("label 1:") && run.stderr.contains(shown) && run.stderr.contains(name), "stderr: \(run.stderr)")
        }
        // Only the first line may be a header: a later non-label is still an error.
        var bad = ["label"] + labels
        bad[5] = "seven"
        let run = try s.eval(labels: try s.write("bad.txt", lines: bad))
        #expect(run.status == 65)
        #expect(run.stderr.contains("label 5 (line 6)") && run.stderr.contains("'seven'") && run.stderr.contains("bad.txt"),
                "stderr: \(run.stderr)")
    }

    /// Integral floats are class indices: `7.0`, `7.`, `+7.00`, `7e0` and numpy.savetxt's
    /// default `%.18e` (`7.000000000000000000e+00`); `7.5` is an error naming it.
    @Test func integralFloats() throws {
        let s = try Self.setup()
        let forms: [(Int) -> String] = [{ "\($0).0" }, { "\($0)." }, { "+\($0).00" }, { "\($0)e0" }]
        for (i, form) in forms.enumerated() {
            let lines = s.demo.labels.map(form)
            s.expectReference(try s.eval(labels: try s.write("floats\(i).txt", lines: lines)), "floats like \(lines[0])")
        }
        let savetxt = try s.write("savetxt.txt", lines: s.demo.labels.map(Self.savetxt))
        #expect(try String(contentsOfFile: savetxt, encoding: .utf8).hasPrefix("7.000000000000000000e+00\n"))
        s.expectReference(try s.eval(labels: savetxt), "numpy.savetxt %.18e")
        s.expectReference(try s.eval(labels: savetxt, ["--labels-format", "text"]), "numpy.savetxt %.18e, --labels-format text")

        var lines = s.demo.labels.map { "\($0).0" }
        lines[9] = "7.5"
        let half = try s.eval(labels: try s.write("half.txt", lines: lines))
        #expect(half.status == 65)
        #expect(half.stderr.contains("label 10") && half.stderr.contains("'7.5'") && half.stderr.contains("whole number")
                && half.stderr.contains("half.txt"), "stderr: \(half.stderr)")
        lines[9] = "1.0e+01"
        let range = try s.eval(labels: try s.write("range.txt", lines: lines))
        #expect(range.status == 65)
        #expect(range.stderr.contains("label 10") && range.stderr.contains("'1.0e+01'") && range.stderr.contains("0...9"),
                "stderr: \(range.stderr)")
    }

    /// Several columns: the one the header names `label`, `class`, `target` or `y` (any case),
    /// else the last; comma, tab or blank separated, quoted or not.
    @Test func columns() throws {
        let s = try Self.setup()
        let labels = s.demo.labels
        let ids = labels.indices.map { 1000 + $0 * 7 }
        let cases: [(String, [String])] = [
            ("id,label", ["id,label"] + zip(ids, labels).map { "\($0),\($1)" }),
            ("label,id", ["label,id"] + zip(ids, labels).map { "\($1),\($0)" }),
            ("Id\tClass\tweight", ["Id\tClass\tweight"] + zip(ids, labels).map { "\($0)\t\($1)\t0.5" }),
            ("\"y\",\"id\"", ["\"y\",\"id\""] + zip(ids, labels).map { "\"\($1)\",\"\($0)\"" }),
            ("id, target (spaces)", ["id, target"] + zip(ids, labels).map { "\($0), \($1)" }),
            ("no header: last column", zip(ids, labels).map { "\($0),\($1)" }),
            ("quoted, no header", zip(ids, labels).map { "\"\($0)\",\"\($1)\"" }),
            ("file,label with names", ["file,label"] + zip(ids, labels).map { "img\($0).png,\($1)" }),
            ("savetxt 2-D", zip(ids, labels).map { Self.savetxt($0) + " " + Self.savetxt($1) }),
            ("pandas to_csv", [",label"] + zip(labels.indices, labels).map { "\($0),\(Double($1))" }),
        ]
        for (i, (what, lines)) in cases.enumerated() {
            s.expectReference(try s.eval(labels: try s.write("columns\(i).txt", lines: lines, ending: i % 2 == 0 ? "\n" : "\r\n")), what)
        }
        // A row with another number of columns names its line and the column read.
        var lines = ["id,label"] + zip(ids, labels).map { "\($0),\($1)" }
        lines[8] = "17,3,4"
        let run = try s.eval(labels: try s.write("ragged.csv", lines: lines))
        #expect(run.status == 65)
        #expect(run.stderr.contains("label 8 (line 9)") && run.stderr.contains("3 columns") && run.stderr.contains("'label'")
                && run.stderr.contains("ragged.csv"), "stderr: \(run.stderr)")
    }
}
