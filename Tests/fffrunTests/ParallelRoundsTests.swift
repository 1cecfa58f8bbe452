import Foundation
import Testing

/// Big streams go through parallel rounds (after a first block of 4096 records read one by
/// one): each thread parses or decodes its share of the buffered input, evaluates and formats
/// it. These tests check the rounds against expectations that do not come from them: the
/// reference's answers for the demo records (repeated past the first block), and for errors,
/// the messages fixed here and those of `--line-buffered`, which reads record by record.
@Suite struct ParallelRoundsTests {
    typealias F = ClassifyFixtures

    /// More than two blocks of the demo model (4096 records each).
    static let count = 9000

    /// The demo records repeated to `count`, as CSV fields, and their expected classes.
    private func records(_ demo: F.Demo, count: Int = count) -> (fields: [[String]], classes: [String]) {
        let fields = (0..<count).map { demo.records[$0 % demo.records.count].map { String(Int($0)) } }
        let classes = (0..<count).map { String(demo.argmax[$0 % demo.argmax.count]) }
        return (fields, classes)
    }

    private func classify(_ demo: F.Demo, _ input: Data, threads: Int, extra: [String] = []) throws -> F.Run {
        try F.fffrun(["classify", demo.modelPath, "--output", "index", "--threads", String(threads)] + extra, stdin: input)
    }

    @Test(arguments: [1, 2, 3]) func csvWithCommentsAndCRLFMatchesTheReference(threads: Int) throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        var text = "x0" + (1..<64).map { ",x\($0)" }.joined() + "\n"  // a header
        for (r, row) in fields.enumerated() {
            if r % 997 == 5 { text += "# comment before record \(r + 1)\n" }
            switch r % 5 {
            case 0: text += row.joined(separator: ",") + "\r\n"
            case 1: text += row.joined(separator: ", ") + "\n"
            case 2: text += row.map { $0 + ".0" }.joined(separator: ",") + "\n"
            case 3: text += " " + row.joined(separator: " ,") + " \n"
            default: text += row.joined(separator: ",") + "\n"
            }
        }
        let result = try classify(demo, Data(text.utf8), threads: threads)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == classes)
    }

    @Test(arguments: ["\t", " "]) func tsvAndTextMatchTheReference(separator: String) throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        let text = fields.map { $0.joined(separator: separator) + "\n" }.joined()
        for threads in [1, 2] {
            let result = try classify(demo, Data(text.utf8), threads: threads)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines == classes)
        }
    }

    /// A bad token in a later round: the records before it are answered, the message names
    /// the same record, line and column as reading record by record does.
    @Test(arguments: [1, 2, 3]) func badTokenInALaterRound(threads: Int) throws {
        let demo = try F.demo()
        var (fields, classes) = records(demo)
        fields[7000][9] = "x1"
        var text = ""
        for (r, row) in fields.enumerated() {
            if r == 10 || r == 5000 { text += "# a comment\n" }
            text += row.joined(separator: ",") + "\n"
        }
        let input = Data(text.utf8)
        let result = try classify(demo, input, threads: threads)
        let serial = try classify(demo, input, threads: 1, extra: ["--line-buffered"])
        #expect(result.status == 65)
        #expect(result.lines == Array(classes.prefix(7000)))
        #expect(result.stderr == "fffrun classify: standard input: record 7001 (line 7003), column 10: 'x1' is not a number\n")
        #expect(result.stderr == serial.stderr)
        #expect(result.stdoutData == serial.stdoutData)
    }

    /// The error in the second share of a round while the first is fine, and with a wrong
    /// width instead of a bad token, and a blank line followed by records.
    @Test(arguments: [2, 3]) func otherErrorsInALaterRound(threads: Int) throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        let lines = fields.map { $0.joined(separator: ",") }
        var wide = lines
        wide[8500] += ",7"
        var blank = lines
        blank.insert("", at: 6500)
        for (input, expected, stderr) in [
            (wide, 8500, "record 8501 has 65 values; the model expects 64"),
            (blank, 6500, "record 6501 is empty (blank lines are accepted only at the end)"),
        ] {
            let data = Data((input.joined(separator: "\n") + "\n").utf8)
            let result = try classify(demo, data, threads: threads)
            #expect(result.status == 65)
            #expect(result.lines == Array(classes.prefix(expected)))
            #expect(result.stderr == "fffrun classify: standard input: \(stderr)\n")
        }
        // Blank lines at the end are fine.
        let trailing = Data((lines.joined(separator: "\n") + "\n\n \n").utf8)
        let result = try classify(demo, trailing, threads: threads)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == classes)
    }

    /// Lines of one very long record per chunk boundary, and lines that are not one record per
    /// line (a quoted field with a line end inside is two bad lines, as before).
    @Test func quotedFieldAcrossLinesIsRefusedAsBefore() throws {
        let demo = try F.demo()
        var (fields, classes) = records(demo)
        fields[6000][3] = "\"1"
        fields[6000][4] = "\n2\""
        let text = fields.map { $0.joined(separator: ",") + "\n" }.joined()
        for threads in [1, 2] {
            let result = try classify(demo, Data(text.utf8), threads: threads)
            #expect(result.status == 65)
            #expect(result.lines == Array(classes.prefix(6000)))
            #expect(result.stderr == "fffrun classify: standard input: record 6001, column 4: '\"1' is not a number\n")
        }
    }

    /// Binary records: a NaN in a later round stops the run where record by record does.
    @Test(arguments: [1, 2, 3]) func nonFiniteBinaryValueInALaterRound(threads: Int) throws {
        let demo = try F.demo()
        let (_, classes) = records(demo)
        var values = (0..<Self.count).map { demo.records[$0 % demo.records.count] }
        values[6000][4] = .nan
        let result = try classify(demo, F.Encoding.f32(values), threads: threads, extra: ["--input-format", "f32"])
        #expect(result.status == 65)
        #expect(result.lines == Array(classes.prefix(6000)))
        #expect(result.stderr == "fffrun classify: standard input: record 6001, value 5 is NaN\n")
        let idx = try classify(demo, F.Encoding.idx(Array(values.prefix(5000)) + values.suffix(from: 6001), float: false),
                               threads: threads)
        #expect(idx.status == 0, "\(idx.stderr)")
        #expect(idx.lines == Array(classes.prefix(5000)) + classes.suffix(from: 6001))
    }

    /// Text from a regular file is read in parts, each thread its piece, then cut at the last
    /// line end read; from a pipe the calling thread reads it. The same answers and messages
    /// (named after the file instead of standard input), also where a run holds no line end
    /// (a line longer than a round's bytes and the line cap, the last line without one).
    @Test(arguments: [1, 2, 3]) func textFromAFileMatchesThePipe(threads: Int) throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        let lines: [String] = fields.enumerated().map { r, row in
            let line: String = row.joined(separator: ",")
            return r % 7 == 3 ? line + "\r" : line
        }
        var comments = lines
        comments.insert("# a comment", at: 6100)
        var bad = lines
        bad[7000] = bad[7000].replacingOccurrences(of: ",", with: ",x", options: [], range: nil)
        var wide = lines
        wide[8500] += ",7"
        var long = lines  // 1.5 MB, longer than a round's bytes and than the line cap
        let spaces = String(repeating: " ", count: 1_500_000)
        let rest: String = fields[6000].dropFirst().joined(separator: ",")
        long[6000] = fields[6000][0] + spaces + "," + rest
        let directory = try TemporaryDirectory()
        let path = directory.path("records.csv")
        let cases: [(name: String, lines: [String], end: String)] = [
            ("plain", lines, "\n"), ("no final line end", lines, ""), ("comment", comments, "\n"),
            ("bad token", bad, "\n"), ("wide", wide, "\n"), ("long line", long, "\n"),
        ]
        for (name, caseLines, end) in cases {
            let text: String = caseLines.joined(separator: "\n") + end
            let data = Data(text.utf8)
            try data.write(to: URL(fileURLWithPath: path))
            let file = try F.fffrun(["classify", demo.modelPath, "--output", "index", "--threads", String(threads), path])
            let piped = try classify(demo, data, threads: threads)
            #expect(file.status == piped.status, "\(name)")
            #expect(file.stdoutData == piped.stdoutData, "\(name)")
            #expect(file.stderr == piped.stderr.replacingOccurrences(of: "standard input", with: "'\(path)'"), "\(name)")
            if name == "plain" || name == "comment" || name == "no final line end" {
                #expect(file.status == 0, "\(name): \(file.stderr)")
                #expect(file.lines == classes, "\(name)")
            } else {
                #expect(file.status == 65, "\(name)")
            }
        }
    }

    /// gzip from a file is inflated on a thread of its own; from a pipe it is not. The same
    /// answers and, for a truncated stream, the same message.
    @Test func gzipThreadMatchesThePipe() throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        let text = Data(fields.map { $0.joined(separator: ",") + "\n" }.joined().utf8)
        let gz = try F.Encoding.gzip(text)
        let directory = try TemporaryDirectory()
        let whole = directory.path("whole.csv.gz"), cut = directory.path("cut.csv.gz")
        try gz.write(to: URL(fileURLWithPath: whole))
        try gz.prefix(gz.count * 7 / 10).write(to: URL(fileURLWithPath: cut))
        let binary = try FFFRunBinary.location.get().path
        for threads in [1, 2] {
            let file = try F.fffrun(["classify", demo.modelPath, "--output", "index", "--threads", String(threads), whole])
            #expect(file.status == 0, "\(file.stderr)")
            #expect(file.lines == classes)
            let redirected = try F.bash("'\(binary)' classify '\(demo.modelPath)' --output index --threads \(threads) < '\(cut)'")
            let piped = try F.bash("cat '\(cut)' | '\(binary)' classify '\(demo.modelPath)' --output index --threads \(threads)")
            #expect(redirected.status == 65)
            #expect(redirected.stderr == piped.stderr)
            #expect(redirected.stderr.hasPrefix("fffrun classify: standard input: the gzip stream is truncated: it ends inside a member at compressed byte "))
            #expect(redirected.stdoutData == piped.stdoutData)
            #expect(redirected.lines.count > 4096)
            #expect(redirected.lines == Array(classes.prefix(redirected.lines.count)))
        }
    }

    /// eval's rounds: the same report with any number of threads, and the counts of the
    /// reference's predictions.
    @Test func evalParallelEqualsSerial() throws {
        let demo = try F.demo()
        let (fields, classes) = records(demo)
        let directory = try TemporaryDirectory()
        let inputs = directory.path("inputs.csv"), labels = directory.path("labels.txt")
        try Data(fields.map { $0.joined(separator: ",") + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: inputs))
        let truth = (0..<Self.count).map { demo.labels[$0 % demo.labels.count] }
        try Data(truth.map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: labels))
        let correct = zip(truth, classes).filter { String($0) == $1 }.count
        var reports: [String] = []
        for threads in [1, 2, 3] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", labels, "--threads", String(threads)])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.lines.first == "accuracy: \(EvalCommandTests.Expected.percent(correct, Self.count)) (\(correct) of \(Self.count))")
            reports.append(result.stdout)
        }
        #expect(Set(reports).count == 1)
        // Fewer labels than records, and a bad record after the last label: the label first.
        try Data(truth.prefix(7000).map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: labels))
        var bad = fields
        bad[8000][0] = "oops"
        try Data(bad.map { $0.joined(separator: ",") + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: inputs))
        for threads in [1, 2, 3] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", labels, "--threads", String(threads)])
            #expect(result.status == 65)
            #expect(result.stderr == "fffrun eval: labels file '\(labels)' ends after 7000 labels, but inputs '\(inputs)' has more records (record 7001 has no label)\n")
        }
        // Enough labels: the bad record.
        try Data(truth.map { "\($0)\n" }.joined().utf8).write(to: URL(fileURLWithPath: labels))
        for threads in [1, 2] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", labels, "--threads", String(threads)])
            #expect(result.status == 65)
            #expect(result.stderr == "fffrun eval: inputs '\(inputs)': record 8001, column 1: 'oops' is not a number\n")
        }
        // IDX labels, which the rounds decode a share's worth at a time: the same report as the
        // text labels; a label that is not a class, and labels that end early, named as before.
        try Data(fields.map { $0.joined(separator: ",") + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: inputs))
        let idxLabels = directory.path("labels.idx")
        try EvalLabelsTests.idx(truth).write(to: URL(fileURLWithPath: idxLabels))
        for threads in [1, 2, 3] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", idxLabels, "--threads", String(threads)])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == reports[0])
        }
        var wrong = truth
        wrong[6543] = 200
        try EvalLabelsTests.idx(wrong).write(to: URL(fileURLWithPath: idxLabels))
        for threads in [1, 2, 3] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", idxLabels, "--threads", String(threads)])
            #expect(result.status == 65)
            #expect(result.stderr == "fffrun eval: labels file '\(idxLabels)', label 6544: 200.0 is not a class index 0...9\n")
        }
        try EvalLabelsTests.idx(Array(truth.prefix(7000))).write(to: URL(fileURLWithPath: idxLabels))
        for threads in [1, 2, 3] {
            let result = try F.fffrun(["eval", demo.modelPath, "--inputs", inputs, "--labels", idxLabels, "--threads", String(threads)])
            #expect(result.status == 65)
            #expect(result.stderr == "fffrun eval: labels file '\(idxLabels)' ends after 7000 labels, but inputs '\(inputs)' has more records (record 7001 has no label)\n")
        }
    }
}
