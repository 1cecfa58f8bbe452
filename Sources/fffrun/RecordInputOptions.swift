import ArgumentParser
import FastFeedforward
import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The options `classify` and `eval` share: how records are read and how they are run.
struct RecordInputOptions: ParsableArguments {
    /// `--input-format`: the names of ``RecordFormat``.
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case auto, csv, tsv, text, f32, f64, u8, idx, npy

        var recordFormat: RecordFormat {
            switch self {
            case .auto: .auto
            case .csv: .csv
            case .tsv: .tsv
            case .text: .text
            case .f32: .f32
            case .f64: .f64
            case .u8: .u8
            case .idx: .idx
            case .npy: .npy
            }
        }
    }

    /// `--header`: the names of ``RecordReaderOptions/HeaderPolicy``.
    enum Header: String, CaseIterable, ExpressibleByArgument {
        case auto, skip, none

        var policy: RecordReaderOptions.HeaderPolicy {
            switch self {
            case .auto: .auto
            case .skip: .skip
            case .none: .none
            }
        }
    }

    @Option(name: .customLong("input-format"),
            help: "How records are encoded: auto (IDX and NPY by their magic, else text), csv, tsv, text, f32, f64, u8, idx or npy. gzip is recognised in every format.")
    var inputFormat: Format = .auto

    @Option(help: "The first line of text input: auto (skipped when none of its fields is a number, or when it numbers the columns 0,1,2,... as pandas writes them), skip, or none.")
    var header: Header = .auto

    @Flag(help: "Records are already preprocessed: do not apply the model's preprocessing (PREP).")
    var raw = false

    @Flag(name: .customLong("allow-nonfinite"),
          help: "Accept NaN and infinite input values (by default they are errors naming the record).")
    var allowNonFinite = false

    @Option(help: "Threads that read, parse and evaluate the records (default: one per CPU this process may use, as taskset or a container's cpuset allow; 1 runs on the main thread only).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads must be at least 1, not \(threads)")
        }
        if let threads, threads > 1024 {
            throw ValidationError("--threads must be at most 1024, not \(threads)")
        }
    }

    /// The reader settings these options ask for.
    var readerOptions: RecordReaderOptions {
        RecordReaderOptions(allowNonFinite: allowNonFinite, header: header.policy, inflatesOnThread: true)
    }

    /// Opens `path` (`-`: standard input) as a stream of `width`-value records read with these
    /// options: 66 when the file cannot be opened (the message begins with `role`), else the
    /// failure of a bad argument, named `name`.
    func openRecords(_ path: String, width: Int, name: String, role: String) throws(CommandFailure)
        -> (source: FileDescriptorSource, reader: RecordReader) {
        let source: FileDescriptorSource
        if path == "-" {
            source = FileDescriptorSource()
        } else {
            do { source = try FileDescriptorSource(path: path) } catch {
                throw CommandFailure(CommandFailure.noInput, "\(role): \(error.message)")
            }
        }
        do {
            return (source, try RecordReader(source: source, format: inputFormat.recordFormat,
                                             expectedWidth: width, options: readerOptions))
        } catch {
            throw CommandFailure.reading(error, from: name)
        }
    }

    /// Raw records get the model's preprocessing; `--raw` records do not.
    var inputForm: InputForm { raw ? .preprocessed : .raw }

    /// `--threads`, or the number of CPUs this process may run on (its affinity mask: a
    /// thread more would only take turns on a CPU with another).
    var threadCount: Int {
        if let threads { return threads }
        return max(1, min(1024, WorkerPool.usableCPUs()))
    }
}
