import ArgumentParser
import FastFeedforward
import FFFRecords

/// A reason a streaming command (`classify`, `eval`) stops: the message for standard error and
/// the sysexits(3) status to exit with.
struct CommandFailure: Error, CustomStringConvertible {
    /// The exit status.
    let status: ExitCode
    /// The message, complete on its own.
    let message: String
    /// The failure is a write to a closed pipe (EPIPE): the reader went away, which `-q` does
    /// not report.
    let isBrokenPipe: Bool

    /// 65, EX_DATAERR: a bad record, labels file or model file.
    static let dataError = ExitCode(65)
    /// 66, EX_NOINPUT: an input or model file cannot be opened.
    static let noInput = ExitCode(66)
    /// 70, EX_SOFTWARE: an internal error (a thread cannot be started, say).
    static let internalError = ExitCode(70)
    /// 74, EX_IOERR: reading or writing failed (standard output closed, a read error).
    static let ioError = ExitCode(74)
    /// 64, EX_USAGE: a command line that cannot work with this model.
    static let usage = ExitCode(64)

    init(_ status: ExitCode, _ message: String, isBrokenPipe: Bool = false) {
        self.status = status
        self.message = message
        self.isBrokenPipe = isBrokenPipe
    }

    var description: String { message }

    /// The failure for a record error met while reading `source` (a name for messages, such as
    /// "standard input"): 74 when the system failed to read, 70 for an argument the program
    /// got wrong, 65 for everything wrong with the data.
    static func reading(_ error: RecordError, from source: String) -> CommandFailure {
        let status: ExitCode
        switch error.kind {
        case .io: status = ioError
        case .invalidArgument: status = internalError
        default: status = dataError
        }
        return CommandFailure(status, "\(source): \(error.message)")
    }

    /// The failure for writing the results.
    static func writing(_ error: OutputError) -> CommandFailure {
        CommandFailure(ioError, error.description, isBrokenPipe: error.isBrokenPipe)
    }

    /// Reads and compiles the model at `path`; failures are 66 (cannot read) or 65 (invalid),
    /// with the line `fffrun validate` prints ("PATH: code: message").
    static func loadModel(_ path: String) throws(CommandFailure) -> (FFFModel, InferenceModel) {
        do {
            let model = try FFFReader.read(contentsOf: path)
            return (model, InferenceModel(model))
        } catch {
            throw CommandFailure(error.code == .ioError ? noInput : dataError, "\(path): \(error)")
        }
    }
}
