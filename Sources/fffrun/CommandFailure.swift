import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastFeedforward
import FFFProvenance
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

    // The statuses, named once in Sysexits.
    static let dataError = Sysexits.dataError
    static let noInput = Sysexits.noInput
    static let internalError = Sysexits.internalError
    static let ioError = Sysexits.ioError
    static let usage = Sysexits.usage

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
    /// with the line `fffrun validate` prints ("PATH: code: message"). The file's model is
    /// handed over whole, so its weights are released as they are packed (no second copy).
    ///
    /// With `verifying` keys (`--verify-key`; read from their files first: 66 or 65), the model
    /// is compiled only if its verdict is good-signature; any other verdict is 65, naming it.
    static func loadModel(_ path: String, verifying keyOptions: VerifyKeyOptions? = nil) throws(CommandFailure) -> InferenceModel {
        if let problem = KernelPath.environmentProblem {
            throw CommandFailure(usage, problem)
        }
        guard let keyOptions, !keyOptions.paths.isEmpty else {
            do {
                return InferenceModel(try FFFReader.read(contentsOf: path))
            } catch {
                throw CommandFailure(Sysexits.status(for: error), "\(path): \(error)")
            }
        }
        let keys = try keyOptions.trustedKeys()
        // The file value ends with this function, so the model handed on is the only copy.
        func verifiedModel() throws(CommandFailure) -> FFFModel {
            let file: FFFFile
            do {
                file = try FFFReader.readFile(contentsOf: path)
            } catch {
                throw CommandFailure(Sysexits.status(for: error), "\(path): \(error)")
            }
            let verdict = Verifier.verify(file, trustedKeys: keys)
            guard verdict.isGood else {
                throw CommandFailure(dataError, "\(path): refusing to run the model (--verify-key): \(verdict)")
            }
            return file.model
        }
        return InferenceModel(try verifiedModel())
    }

    /// Runs the body of streaming command `command` ("classify"): SIGPIPE ignored so that a
    /// closed output is seen as EPIPE, a progress line (when `showsProgress`), and on failure
    /// the message on standard error and the failure's status; a closed output pipe ends the
    /// process silently by SIGPIPE instead (``Sysexits/endForClosedOutput()``).
    static func run(_ command: String, showsProgress: Bool,
                    _ body: (ProgressLine) throws(CommandFailure) -> Void) throws(ExitCode) {
        signal(SIGPIPE, SIG_IGN)
        let progress = ProgressLine(command: command, enabled: showsProgress)
        do {
            try body(progress)
        } catch {
            progress.clear()
            if error.isBrokenPipe { Sysexits.endForClosedOutput() }
            printError("fffrun \(command): \(error.message)")
            throw error.status
        }
    }
}
