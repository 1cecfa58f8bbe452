import ArgumentParser
import FastFeedforward
import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun eval MODEL --inputs FILE --labels FILE`: accuracy, per-class accuracy, confusion
/// matrix and leaf usage (load balance) of a model on a labelled data set.
///
/// Inputs and labels are streamed side by side, a block at a time, through the same engine as
/// `classify` (``BatchEngine``); memory is bounded by the block and the `O x O` matrix.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure a model's accuracy and leaf balance on labelled records.",
        usage: "fffrun eval <model> --inputs <inputs> --labels <labels> [<options>]",
        discussion: """
            Classifies every record of --inputs (any format of `fffrun classify`: csv, tsv, \
            text, f32, f64, u8, idx, npy, gzip-compressed or not; `-` reads standard input) and \
            compares the predictions with --labels. Labels files: IDX (MNIST's \
            t10k-labels-idx1-ubyte, gzip or not), NPY (a 1-D array of integers), or text with one \
            label per line, each a class index 0..O-1 or one of the model's label names (names \
            are matched first). The numbers of inputs and labels must agree.

            Prints, in this order: the line "accuracy: 94.73% (9473 of 10000)"; per-class \
            accuracy; the confusion matrix (rows: true class, columns: predicted class); the \
            leaf usage histogram (records per leaf and their fraction); the normalised entropy \
            of the leaf distribution, entropy / log(L) over the L leaves (1 = perfectly \
            balanced, 0 = one leaf takes everything; 1 by definition for a single leaf); and the \
            number of unused leaves. --json prints one JSON document with the same content \
            (records, correct, accuracy, classes, confusion, leaves).

            Exit status:
              0   success
              64  usage error
              65  data error: a malformed record or label, a label outside 0..O-1, different \
            numbers of inputs and labels, or an invalid model file
              66  the model, inputs or labels file cannot be opened
              70  internal error
              74  I/O error: reading an input failed, or writing the report failed

            Examples:
              fffrun eval model.fff --inputs t10k-images-idx3-ubyte.gz \\
                  --labels t10k-labels-idx1-ubyte.gz
              fffrun eval model.fff --inputs test.csv --labels y.txt --json | jq .accuracy
              zcat test.f32.gz | fffrun eval model.fff --inputs - --input-format f32 \\
                  --labels labels.npy
            """
    )

    @Argument(help: "The model file (.fff).")
    var model: String

    @Option(help: "The records to classify (`-` for standard input).")
    var inputs: String

    @Option(help: ArgumentHelp(
        "Their true labels, one per record (`-` for standard input; a pipe works).",
        discussion: """
            IDX, NPY, or text with one label per line: a class index (7, 7.0, \
            7.000000000000000000e+00) or a label name of the model. A first line that is \
            not a label (`label`) is a header, skipped. In lines of several columns \
            (`id,label` then `17,3`), the labels are the column named label, class, target \
            or y, else the last. Gzip, CRLF and a BOM are accepted. Examples:
              --labels t10k-labels-idx1-ubyte.gz
              --labels <(xz -dc test-labels.txt.xz)
            """))
    var labels: String

    @OptionGroup var input: RecordInputOptions

    @OptionGroup(title: "Provenance") var provenance: VerifyKeyOptions

    @Option(name: .customLong("labels-format"),
            help: "The labels file's format: auto (IDX or NPY by their magic, else text), idx, text or npy.")
    var labelsFormat: LabelStream.Format = .auto

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "No progress line and no notes (warnings about the input).")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Report the model, kernel path, threads and timing on standard error.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if inputs == "-" && labels == "-" {
            throw ValidationError("--inputs and --labels cannot both be standard input ('-'): give one of them as a file, or as <(command) in bash")
        }
    }

    func run() throws {
        try CommandFailure.run("eval", showsProgress: !quiet) { progress throws(CommandFailure) in
            try execute(progress: progress)
        }
    }

    private func execute(progress: ProgressLine) throws(CommandFailure) {
        let compiled = try CommandFailure.loadModel(model, verifying: provenance)
        let inputName = inputs == "-" ? "standard input" : "inputs '\(inputs)'"
        let (source, reader) = try input.openRecords(inputs, width: compiled.inputWidth, name: inputName, role: "inputs")
        do { try reader.prepare() } catch { throw CommandFailure.reading(error, from: inputName) }
        progress.follow(reader, from: source)
        let truth = try LabelStream(path: labels, format: labelsFormat, outputWidth: compiled.outputWidth,
                                    labels: compiled.labels)
        if let records = reader.declaredRecordCount, let declared = truth.declaredCount, records != declared {
            throw CommandFailure(CommandFailure.dataError,
                "\(inputName) declares \(records) records but \(truth.subject) declares \(declared) labels")
        }
        let engine: BatchEngine
        do {
            engine = try BatchEngine(model: compiled, inputForm: input.inputForm, threads: input.threadCount)
        } catch {
            throw CommandFailure(CommandFailure.internalError, error.description)
        }
        if verbose {
            printError("fffrun eval: model \(model): \(ClassifyCommand.describe(compiled))")
            printError("fffrun eval: kernel \(compiled.kernel), \(engine.threadCount) thread\(engine.threadCount == 1 ? "" : "s"), blocks of \(engine.blockCapacity) records")
        }
        let start = ContinuousClock.now
        var report = EvalReport(classes: compiled.outputWidth, leaves: compiled.leafCount, labels: compiled.labels)
        try EvalRun(engine: engine, model: compiled, inputName: inputName, showsNotes: !quiet, progress: progress)
            .run(reader, truth: truth, into: &report)
        try truth.expectEnd(after: report.total, of: inputName)
        progress.clear()
        if verbose {
            let seconds = ProgressLine.seconds(ContinuousClock.now - start)
            let format = (reader.format.map { $0.rawValue + (reader.isCompressed ? " (gzip)" : "") } ?? "empty")
            printError("fffrun eval: \(report.total) records in \(NumberText.fixed(seconds, 3)) s; inputs: \(format); labels: \(truth.formatName)")
        }
        let text = json
            ? report.json(extra: [("model", .string(model)), ("inputs", .string(inputs)), ("labels", .string(labels))]).serialized
            : report.text
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
