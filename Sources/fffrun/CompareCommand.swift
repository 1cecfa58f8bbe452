import ArgumentParser
import FastFeedforward
import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun compare A.fff B.fff --inputs FILE`: how far two models of the same shape answer
/// apart on the same records: the tool for shipping a compact (float16, bfloat16, int8) copy
/// of a model, or a retrained one.
///
/// Records are streamed once, a block at a time, through both models (each its own
/// ``BatchEngine``); memory is bounded by the block.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models' answers on the same records (argmax, leaves, outputs).",
        usage: "fffrun compare <model-a> <model-b> --inputs <inputs> [<options>]",
        discussion: """
            Runs every record of --inputs (any format of `fffrun classify`; `-` reads standard \
            input) through both models and reports: the share of records whose predicted class \
            agrees (argmax agreement), the share that reach the same leaf, the largest \
            difference of any output (and where), and the mean absolute difference. With \
            --labels, the accuracy of each model too. The models must have the same input and \
            output widths; their trees may differ (leaf agreement is then only a count of equal \
            indices). Each model applies its own preprocessing unless --raw is given.

            Typical use, before shipping a compact model:
              fff-convert model.pt -o small.fff --dtype float16 ...
              fffrun compare model.fff small.fff --inputs test.idx.gz --labels labels.gz

            Exit status:
              0   success (whatever the agreement: the report says it)
              64  usage error
              65  data error: a malformed record or label, or an invalid model file, or models \
            of different input or output widths
              66  a model, the inputs or the labels cannot be opened
              74  I/O error

            Examples:
              fffrun compare model.fff model-f16.fff --inputs t10k-images-idx3-ubyte.gz
              fffrun compare a.fff b.fff --inputs test.csv --json | jq .argmax_agreement
            """
    )

    @Argument(help: "The first model file (.fff), the reference.")
    var modelA: String

    @Argument(help: "The second model file (.fff), compared with the first.")
    var modelB: String

    @Option(help: "The records to run (`-` for standard input).")
    var inputs: String

    @Option(help: "Their true labels, one per record (as for `fffrun eval`): adds each model's accuracy.")
    var labels: String?

    @OptionGroup var input: RecordInputOptions

    @OptionGroup(title: "Provenance") var provenance: VerifyKeyOptions

    @Option(name: .customLong("labels-format"), help: "The labels file's format: auto, idx, text or npy.")
    var labelsFormat: LabelStream.Format = .auto

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress line and no notes.")
    var quiet = false

    func validate() throws {
        if inputs == "-" && labels == "-" {
            throw ValidationError("--inputs and --labels cannot both be standard input ('-')")
        }
    }

    func run() throws {
        try CommandFailure.run("compare", showsProgress: !quiet) { progress throws(CommandFailure) in
            try execute(progress: progress)
        }
    }

    private func execute(progress: ProgressLine) throws(CommandFailure) {
        let a = try CommandFailure.loadModel(modelA, verifying: provenance)
        let b = try CommandFailure.loadModel(modelB, verifying: provenance)
        guard a.inputWidth == b.inputWidth, a.outputWidth == b.outputWidth else {
            throw CommandFailure(CommandFailure.dataError,
                "the models differ in shape: \(modelA) is \(a.inputWidth) -> \(a.outputWidth), \(modelB) is \(b.inputWidth) -> \(b.outputWidth)")
        }
        let inputName = inputs == "-" ? "standard input" : "inputs '\(inputs)'"
        let (source, reader) = try input.openRecords(inputs, width: a.inputWidth, name: inputName, role: "inputs")
        do { try reader.prepare() } catch { throw CommandFailure.reading(error, from: inputName) }
        progress.follow(reader, from: source)
        let truth = try labels.map { path throws(CommandFailure) in
            try LabelStream(path: path, format: labelsFormat, outputWidth: a.outputWidth, labels: a.labels)
        }
        let engines: (BatchEngine, BatchEngine)
        do {
            let threads = input.threadCount
            let first = try BatchEngine(model: a, inputForm: input.inputForm, threads: threads)
            engines = (first, try BatchEngine(model: b, inputForm: input.inputForm, threads: threads,
                                              sharingThreadsOf: first))
        } catch {
            throw CommandFailure(CommandFailure.internalError, error.description)
        }
        let (first, second) = engines
        first.shareCores(with: reader)
        var tally = ComparisonTally(outputWidth: a.outputWidth)
        var classes = [Int32](repeating: 0, count: first.blockCapacity)
        while true {
            let fill = first.fill(from: reader)
            if fill.count > 0 {
                second.inputs.baseAddress!.update(from: first.inputs.baseAddress!, count: fill.count * a.inputWidth)
            }
            if let truth {
                try classes.withUnsafeMutableBufferPointer { (buffer) throws(CommandFailure) in
                    try truth.labels(forRecords: fill.count, of: inputName, into: buffer.baseAddress!)
                }
            }
            first.evaluate(count: fill.count) { _, _ in }
            second.evaluate(count: fill.count) { _, _ in }
            for r in 0..<fill.count {
                tally.add(first.output(r), first.leaves[r], second.output(r), second.leaves[r],
                          truth: truth == nil ? nil : Int(classes[r]))
            }
            progress.update(records: tally.records)
            if let error = fill.error { throw CommandFailure.reading(error, from: inputName) }
            if fill.ended { break }
        }
        try truth?.expectEnd(after: tally.records, of: inputName)
        progress.clear()
        let text = json
            ? tally.json(modelA: modelA, modelB: modelB, inputs: inputs).serialized
            : tally.text(modelA: modelA, modelB: modelB)
        let writer = OutputWriter()
        let bytes = ByteBuffer()
        bytes.append(Array((text + "\n").utf8))
        do {
            try writer.write(bytes.bytes)
            try writer.flush()
        } catch {
            throw CommandFailure.writing(error)
        }
    }
}

/// What `fffrun compare` counts, record by record.
struct ComparisonTally {
    let outputWidth: Int
    private(set) var records = 0
    private(set) var sameClass = 0
    private(set) var sameLeaf = 0
    private(set) var labelled = 0
    private(set) var correctA = 0
    private(set) var correctB = 0
    /// The largest |a - b| of any output, and the record (1-based) and output where it is.
    private(set) var maxDifference: Float = 0
    private(set) var maxAt: (record: Int, output: Int)?
    private var differenceSum = 0.0
    /// Outputs where one model gives NaN and the other not (never averaged).
    private(set) var nanMismatches = 0

    init(outputWidth: Int) { self.outputWidth = outputWidth }

    /// Counts one record: both models' outputs and leaves, and its true class if known. O(O).
    mutating func add(_ a: UnsafePointer<Float>, _ leafA: Int32, _ b: UnsafePointer<Float>, _ leafB: Int32, truth: Int?) {
        records += 1
        let classA = Classification(scores: UnsafeBufferPointer(start: a, count: outputWidth), leaf: 0).index
        let classB = Classification(scores: UnsafeBufferPointer(start: b, count: outputWidth), leaf: 0).index
        if classA == classB { sameClass += 1 }
        if leafA == leafB { sameLeaf += 1 }
        if let truth {
            labelled += 1
            if classA == truth { correctA += 1 }
            if classB == truth { correctB += 1 }
        }
        for o in 0..<outputWidth {
            let (x, y) = (a[o], b[o])
            if x.isNaN || y.isNaN {
                if x.isNaN != y.isNaN { nanMismatches += 1 }
                continue
            }
            let d = abs(x - y)
            differenceSum += Double(d)
            if d > maxDifference || maxAt == nil {
                maxDifference = d
                maxAt = (records, o)
            }
        }
    }

    var meanDifference: Double { records == 0 ? 0 : differenceSum / Double(records * outputWidth) }

    func text(modelA: String, modelB: String) -> String {
        var lines = [
            "records: \(records)",
            "argmax agreement: \(NumberText.percent(sameClass, records)) (\(sameClass) of \(records))",
            "leaf agreement: \(NumberText.percent(sameLeaf, records)) (\(sameLeaf) of \(records))",
        ]
        if let maxAt {
            lines.append("max |difference| of an output: \(maxDifference) (record \(maxAt.record), output \(maxAt.output))")
            lines.append("mean |difference|: \(Float(meanDifference))")
        }
        if nanMismatches > 0 { lines.append("outputs NaN in one model only: \(nanMismatches)") }
        if labelled > 0 {
            lines.append("accuracy of \(modelA): \(NumberText.percent(correctA, labelled)) (\(correctA) of \(labelled))")
            lines.append("accuracy of \(modelB): \(NumberText.percent(correctB, labelled)) (\(correctB) of \(labelled))")
        }
        return lines.joined(separator: "\n")
    }

    func json(modelA: String, modelB: String, inputs: String) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("model_a", .string(modelA)), ("model_b", .string(modelB)), ("inputs", .string(inputs)),
            ("records", .int(records)),
            ("argmax_agreement", .double(records == 0 ? 0 : Double(sameClass) / Double(records))),
            ("argmax_same", .int(sameClass)),
            ("leaf_agreement", .double(records == 0 ? 0 : Double(sameLeaf) / Double(records))),
            ("leaf_same", .int(sameLeaf)),
            ("max_abs_difference", maxAt == nil ? .null : .float(maxDifference)),
            ("max_abs_difference_record", .optional(maxAt?.record)),
            ("max_abs_difference_output", .optional(maxAt?.output)),
            ("mean_abs_difference", .double(meanDifference)),
            ("nan_mismatches", .int(nanMismatches)),
        ]
        if labelled > 0 {
            members.append(("accuracy_a", .double(Double(correctA) / Double(labelled))))
            members.append(("accuracy_b", .double(Double(correctB) / Double(labelled))))
        }
        return .object(members)
    }
}
