import ArgumentParser
import FastFeedforward
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Ends the process the way a closed pipe ends other filters (cat, seq, jq): silently, by
    /// SIGPIPE, so the shell sees status 141 and `set -o pipefail` scripts still notice. fffrun
    /// ignores SIGPIPE while it runs so that it can flush and finish cleanly; this restores the
    /// default action and raises it once the output is known to be gone.
    static func endForClosedOutput() -> Never {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        _exit(ioError.rawValue)  // not reached: SIGPIPE's default action ends the process
    }
}
