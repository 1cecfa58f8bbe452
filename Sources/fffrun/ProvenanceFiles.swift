import ArgumentParser
import FastFeedforward
import FFFProvenance
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file work of `keygen`, `sign`, `verify` and `--verify-key`: whole small files in and
/// out, with sysexits statuses: 66 when a file cannot be read, 65 when a key is not a usable
/// Ed25519 key, 74 when a file cannot be written.
enum ProvenanceFiles {
    /// The bytes of the file at `path` (`what` names it in messages: "key file", "model").
    static func read(_ path: String, what: String) throws(CommandFailure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CommandFailure(Sysexits.noInput, "\(path): cannot open the \(what): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CommandFailure(Sysexits.noInput, "\(path): cannot read the \(what): \(String(cString: strerror(errno)))")
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// The public key in the file at `path` (SPKI PEM or an OpenSSH line).
    static func publicKey(_ path: String) throws(CommandFailure) -> PublicKey {
        let text = String(decoding: try read(path, what: "key file"), as: UTF8.self)
        do {
            return try PublicKey(parsing: text)
        } catch {
            throw CommandFailure(Sysexits.dataError, "\(path): not a usable public key: \(error.message)")
        }
    }

    /// The private key in the file at `path` (PKCS#8 PEM).
    static func signingKey(_ path: String) throws(CommandFailure) -> SigningKey {
        let text = String(decoding: try read(path, what: "key file"), as: UTF8.self)
        do {
            return try SigningKey(parsing: text)
        } catch {
            throw CommandFailure(Sysexits.dataError, "\(path): not a usable private key: \(error.message)")
        }
    }

    /// Writes `bytes` to `path` atomically (a temporary file in the same directory, flushed,
    /// renamed over `path`), with permissions `mode` for a new file.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(CommandFailure) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CommandFailure(Sysexits.ioError, "\(path): cannot write: \(String(cString: strerror(errno)))")
        }
        var failure: String?
        if let problem = writeAll(fd, bytes) { failure = problem }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw CommandFailure(Sysexits.ioError, "\(path): cannot write: \(failure)")
        }
    }

    /// Creates `path` with `bytes`, refusing an existing file unless `replace` (73,
    /// EX_CANTCREAT).
    static func create(_ path: String, _ bytes: [UInt8], mode: mode_t, replace: Bool) throws(CommandFailure) {
        if !replace, access(path, F_OK) == 0 {
            throw CommandFailure(ExitCode(73), "\(path) exists; choose another name or add --force to replace it")
        }
        try writeAtomically(bytes, to: path, mode: mode)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            done += n
        }
        return nil
    }

    /// Reads and validates the model file at `path`: 66 when it cannot be read, 65 when it is
    /// invalid, with the line `fffrun validate` prints.
    static func readModel(_ path: String) throws(CommandFailure) -> FFFFile {
        do {
            return try FFFReader.readFile(contentsOf: path)
        } catch {
            throw CommandFailure(Sysexits.status(for: error), ValidateCommand.textLine(path: path, error: error))
        }
    }
}
