import ArgumentParser
import FastFeedforward
import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun classify MODEL`: classifies the records streamed on standard input, one output line
/// per record, in input order.
///
/// Records are read a block at a time (at most 4096, about 4 MiB of inputs), evaluated by
/// `--threads` threads (each with its own ``Workspace``, running `predictBatch` over its share),
/// formatted by the same threads into their own buffers and written in order through a 64 KiB
/// output buffer. When the input pauses (the next read of a pipe or terminal would block), the
/// records read so far are answered and the output flushed, so an interactive producer is
/// served; `--line-buffered` flushes after every record. Memory is bounded whatever the input
/// size, and in the steady state nothing is allocated per record.
struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify records from files or standard input, one output line per record.",
        discussion: """
            Reads records from each INPUT in turn (`-`, or no INPUT at all: standard input) \
            and writes one line per record to standard output, in input order. Input formats (--input-format, default auto): csv, tsv, \
            text (numbers separated by blanks or commas), f32 and f64 (raw little-endian \
            floats), u8 (raw bytes), idx (MNIST IDX) and npy (NumPy); auto recognises IDX and \
            NPY by their magic and otherwise reads text. gzip-compressed input is recognised in \
            every format. Each record must have the model's input width. The model's \
            preprocessing (PREP) applies to every format unless --raw is given.

            Output (--output; default label when the model has labels, else index): tab-separated \
            fields, one line per record:
              label   the predicted class's label (with --top-k K: the K best, best first)
              index   the predicted class's index 0..O-1 (with --top-k K: the K best)
              scores  the O raw outputs (with --top-k K: the K best as CLASS:VALUE)
              probs   the softmax of the outputs (with --top-k K: the K best as CLASS:VALUE)
              json    {"index":..,"label":..,"score":..,"prob":..,"leaf":..} and, with \
            --top-k, "top":[{"index","label","score","prob"},...]
            --leaf appends the leaf index as a last field. Numbers are printed in the shortest \
            form that reads back as the same float32. With --files, each INPUT is a file holding \
            one record (without INPUT, standard input lists such files, one path per line): \
            each file holds one record in any format (.npy, .idx, .csv, \
            .txt, .f32, .f64, .u8, .pgm, gzip-compressed or not; an array of any shape whose \
            values number the input width, such as a 28x28 image) and each output line is \
            PATH<TAB>RESULT (JSON: a "path" member).

            Notes on standard error (not with --quiet) point at likely mistakes without stopping \
            the run: a first line numbering the columns (0,1,2,... as pandas writes a header) \
            is skipped as a header; values that look already preprocessed (all within [-1, 1] \
            where the model's preprocessing expects a wider range) suggest --raw. An archive, \
            image, pickle, zstd/xz/bzip2 stream or model file given as records is refused with \
            what to do instead.

            Errors: a malformed record (wrong number of values, a token that is not a number, \
            NaN or infinity without --allow-nonfinite, a truncated binary record or IDX/NPY \
            stream) stops the run with a message on standard error naming the record number \
            (and the column, for text); every whole record before it has been written to \
            standard output first. Empty input produces no output and exits 0.

            Interactive use: records are classified in blocks of up to 4096 and the output is \
            buffered, but whenever standard input has nothing more to read for the moment (a \
            pipe, socket or terminal whose next read would wait), the records read so far are \
            answered and standard output is flushed first. So a program that writes one record \
            and waits for its answer (a coprocess) is served at once, while a busy stream still \
            runs in whole blocks; a regular file is never polled. With gzip input the producer \
            must flush its compressor after each record (Z_SYNC_FLUSH). --line-buffered \
            flushes after every record even while input keeps arriving.

            Exit status:
              0   success (also for empty input)
              64  usage error (bad option; --output label for a model without labels; --top-k \
            above the model's output width)
              65  data error: a malformed record, or an invalid model file
              66  the model file, an INPUT, or a file listed with --files, cannot be opened
              70  internal error
              74  I/O error: reading an input failed, or writing standard output failed
              141 (SIGPIPE) the reader of standard output went away (`| head`): no message

            Examples (the last answers each record as soon as it comes):
              fffrun classify model.fff t10k-images-idx3-ubyte.gz
              fffrun classify model.fff --output probs --top-k 3 records.csv
              fffrun classify model.fff --output json --leaf records.npy | jq .label
              cat records.f32 | fffrun classify model.fff --input-format f32
              fffrun classify model.fff --files digits/*.npy
              find digits -name '*.png.pgm' | fffrun classify model.fff --files
              coproc FFF { fffrun classify model.fff --input-format u8; }
            """
    )

    @Argument(help: "The model file (.fff).")
    var model: String

    @Argument(help: ArgumentHelp(
        "Files of records, read in turn (`-` or none: standard input). With --files, each is one record.",
        valueName: "input"))
    var inputs: [String] = []

    @OptionGroup var input: RecordInputOptions

    @OptionGroup(title: "Provenance") var provenance: VerifyKeyOptions

    @Option(help: "What to print per record: label, index, scores, probs or json (default: label if the model has labels, else index).")
    var output: OutputMode?

    @Option(name: .customLong("top-k"), help: "Rank the K best classes (best first) instead of giving one.")
    var topK: Int?

    @Flag(help: "Append the index of the leaf each record reached.")
    var leaf = false

    @Flag(help: "Each INPUT (or each path listed on standard input, one per line) is a file holding one record; lines read PATH<TAB>RESULT.")
    var files = false

    @Flag(name: .customLong("line-buffered"),
          help: "Write and flush each record's line as soon as the record is read. Answers already go out whenever the input pauses; use this when each line must appear at once even while input keeps arriving (a live display, a consumer reacting per line). Slower on bulk input: one write per record.")
    var lineBuffered = false

    @Flag(name: .shortAndLong, help: "No progress line and no notes (warnings about the input); errors are still reported.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Report the model, kernel path, threads and timing on standard error.")
    var verbose = false

    func validate() throws {
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1, not \(topK)") }
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if files && input.inputFormat != .auto {
            throw ValidationError("--input-format does not apply to --files: each file's format comes from its content or name")
        }
    }

    func run() throws {
        // No progress line for records typed at a terminal: it would mix with the answers.
        try CommandFailure.run("classify", showsProgress: !quiet && !readsTerminal) { progress throws(CommandFailure) in
            try execute(progress: progress)
        }
    }

    /// Whether records (or, with --files, paths) come from standard input, and it is a terminal.
    private var readsTerminal: Bool {
        (inputs.isEmpty || (!files && inputs.contains("-"))) && isatty(0) == 1
    }

    private func execute(progress: ProgressLine) throws(CommandFailure) {
        let compiled = try CommandFailure.loadModel(model, verifying: provenance)
        if readsTerminal && !quiet {
            // A bare `fffrun classify model.fff` would otherwise wait in silence.
            printError(files
                ? "fffrun classify: reading file paths from the terminal, one per line; Ctrl-D ends. (Or: fffrun classify \(model) --files FILE...)"
                : "fffrun classify: reading records from the terminal, one per line of \(compiled.inputWidth) numbers; Ctrl-D ends. (Or name a file: fffrun classify \(model) FILE)")
        }
        let mode = output ?? (compiled.labels != nil ? .label : .index)
        if mode == .label && compiled.labels == nil {
            throw CommandFailure(CommandFailure.usage, "\(model) has no labels: use --output index (or scores, probs, json)")
        }
        if let topK, topK > compiled.outputWidth {
            throw CommandFailure(CommandFailure.usage, "--top-k \(topK) is more than the model's \(compiled.outputWidth) outputs")
        }
        let engine: BatchEngine
        do {
            engine = try BatchEngine(model: compiled, inputForm: input.inputForm, threads: input.threadCount)
        } catch {
            throw CommandFailure(CommandFailure.internalError, error.description)
        }
        let run = ClassifyRun(
            engine: engine,
            formatters: (0..<engine.threadCount).map { _ in
                OutputFormatter(mode: mode, topK: topK, appendsLeaf: leaf, outputWidth: compiled.outputWidth,
                                labels: compiled.labels)
            },
            progress: progress, tracksLeaves: verbose, lineBuffered: lineBuffered, showsNotes: !quiet)
        if verbose {
            printError("fffrun classify: model \(model): \(Self.describe(compiled)); preprocessing: "
                + (!compiled.hasPreprocessing ? "none" : input.raw ? "skipped (--raw)" : "applied"))
            printError("fffrun classify: kernel \(compiled.kernel), \(engine.threadCount) thread\(engine.threadCount == 1 ? "" : "s"), blocks of \(engine.blockCapacity) records, output \(mode.rawValue)")
        }
        let start = ContinuousClock.now
        var formatName = files ? "files" : ""
        defer {
            // Runs on success and on failure, after the records classified were written.
            if verbose { run.report(elapsed: ContinuousClock.now - start, input: formatName) }
        }
        if files && !inputs.isEmpty {
            try run.classifyFiles(inputs, options: input.readerOptions)
        } else if files {
            try run.classifyFiles(options: input.readerOptions)
        } else {
            let paths = inputs.isEmpty ? ["-"] : inputs
            let totalBytes = ProgressLine.totalSize(ofRegularFiles: paths)
            var doneBytes = 0
            for path in paths {
                let name = path == "-" ? "standard input" : "'\(path)'"
                let (source, reader) = try input.openRecords(path, width: compiled.inputWidth, name: name, role: "input")
                defer {
                    let found = reader.format.map { $0.rawValue + (reader.isCompressed ? " (gzip)" : "") } ?? "empty"
                    formatName = formatName.isEmpty ? found : formatName + ", " + found
                    doneBytes += source.bytesRead
                }
                progress.fraction = { [unowned reader, unowned source] in
                    if let totalBytes, totalBytes > 0 { return Double(doneBytes + source.bytesRead) / Double(totalBytes) }
                    if paths.count == 1, let declared = reader.declaredRecordCount, declared > 0 {
                        return Double(reader.recordsRead) / Double(declared)
                    }
                    return nil
                }
                try run.classifyStream(reader, input: source, name: name)
            }
        }
        progress.clear()
    }

    /// "784 -> 10, depth 2 (4 leaves), leaf width 4, master width 8, relu, labels".
    static func describe(_ model: InferenceModel) -> String {
        "\(model.inputWidth) -> \(model.outputWidth), depth \(model.depth) (\(model.leafCount) leaves), leaf width \(model.leafWidth), "
            + "master width \(model.masterWidth), \(model.activation.name)"
            + (model.labels == nil ? ", no labels" : ", labels")
    }
}
