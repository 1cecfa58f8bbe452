import ArgumentParser
import FastFeedforward

/// The sysexits(3) statuses fffrun exits with.
enum Sysexits {
    /// Everything succeeded.
    static let ok = ExitCode(0)
    /// The command line is wrong (ArgumentParser's own validation failures also exit 64).
    static let usage = ExitCode(64)
    /// A model file is invalid.
    static let dataError = ExitCode(65)
    /// A file could not be opened or read.
    static let noInput = ExitCode(66)
    /// An internal error (a thread cannot be started, say).
    static let internalError = ExitCode(70)
    /// Reading or writing failed (standard output closed, a read error).
    static let ioError = ExitCode(74)

    /// The status for a failed read: 66 when the bytes could not be read, 65 when they are invalid.
    static func status(for error: FFFError) -> ExitCode {
        error.code == .ioError ? noInput : dataError
    }
}
