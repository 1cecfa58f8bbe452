#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and atomic writes over POSIX, so that FFFFormat does not need Foundation.
/// Every failure is `io-error`, naming the path and the system's reason.
enum FileIO {
    /// An open file being read from its start.
    final class InputFile {
        let path: String
        private let descriptor: Int32
        /// The size `fstat` reports for a regular file; `nil` for pipes and devices.
        let regularSize: Int?

        init(_ path: String) throws(FFFError) {
            self.path = path
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { throw FileIO.ioError("cannot open", path) }
            var info = stat()
            if fstat(descriptor, &info) != 0 {
                let error = FileIO.ioError("cannot stat", path)
                close(descriptor)
                throw error
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                close(descriptor)
                throw FFFError(.ioError, "cannot read '\(path)': it is a directory")
            }
            regularSize = (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        }

        deinit { close(descriptor) }

        /// `prefix` followed by the next bytes of the file, up to `total` bytes in all or the end
        /// of the file. Memory is sized by the smaller of `total` and the file's actual size.
        func read(upTo total: Int, after prefix: [UInt8] = []) throws(FFFError) -> [UInt8] {
            guard prefix.count < total else { return prefix }
            // One bulk read for a regular file (one byte past its size, to notice growth);
            // chunks of 1 MiB for streams.
            let first = min(total, max(prefix.count, regularSize.map { $0 &+ 1 } ?? (prefix.count + (1 << 20))))
            var failed = false
            var bytes = [UInt8](unsafeUninitializedCapacity: first) { buffer, count in
                count = 0
                for byte in prefix {
                    buffer[count] = byte
                    count += 1
                }
                failed = !fill(buffer, &count, upTo: first)
            }
            if failed { throw FileIO.ioError("cannot read", path) }
            // The file may be longer than fstat said (a stream, or a file growing): go on in chunks.
            var reachedEnd = bytes.count < first
            while !reachedEnd, bytes.count < total {
                let chunk = min(total - bytes.count, 1 << 20)
                let more = [UInt8](unsafeUninitializedCapacity: chunk) { buffer, count in
                    count = 0
                    failed = !fill(buffer, &count, upTo: chunk)
                }
                if failed { throw FileIO.ioError("cannot read", path) }
                bytes.append(contentsOf: more)
                reachedEnd = more.count < chunk
            }
            return bytes
        }

        /// Fills `destination` with the bytes at `offset` (`pread`, so the file position is not
        /// used). The caller has checked the range against the file's size; if the file ends
        /// sooner it changed while being read, which is an `io-error`.
        func read(at offset: Int, into destination: UnsafeMutableRawBufferPointer) throws(FFFError) {
            guard let base = destination.baseAddress else { return }
            var done = 0
            while done < destination.count {
                let n = pread(descriptor, base + done, destination.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileIO.ioError("cannot read", path)
                }
                if n == 0 {
                    throw FFFError(.ioError, "'\(path)' ended at byte \(offset + done) while bytes up to \(offset + destination.count) were being read; it changed while being read", offset: offset + done)
                }
                done += n
            }
        }

        /// Reads into `buffer[count...]` until `limit` bytes or the end; false on an I/O error.
        private func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>, _ count: inout Int, upTo limit: Int) -> Bool {
            guard let base = buffer.baseAddress else { return true }
            while count < limit {
                let n = posixRead(descriptor, base + count, limit - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                if n == 0 { break }
                count += n
            }
            return true
        }
    }

    /// Writes `bytes` to a new file beside `path`, flushes it, then renames it over `path`, so a
    /// failed write never leaves a partial file under the final name.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(FFFError) {
        let directory: String
        let name: String
        if let slash = path.lastIndex(of: "/") {
            directory = String(path[..<slash])
            name = String(path[path.index(after: slash)...])
        } else {
            directory = ""
            name = path
        }
        if name.isEmpty { throw FFFError(.ioError, "cannot write '\(path)': it names a directory") }
        var fd: Int32 = -1
        var temporary = ""
        for _ in 0..<16 {
            let suffix = String(UInt64.random(in: 0 ... .max), radix: 36)
            temporary = (path.hasPrefix("/") && directory.isEmpty ? "/" : directory.isEmpty ? "" : directory + "/")
                + ".\(name).\(getpid()).\(suffix).tmp"
            // 0666 minus the umask, as for any new file; O_EXCL so a collision is retried.
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 { throw ioError("cannot create a temporary file for", path) }
        var failure: FFFError?
        let written = bytes.withUnsafeBytes { buffer -> Bool in
            var done = 0
            while done < buffer.count {
                let n = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += n
            }
            return true
        }
        if !written { failure = ioError("cannot write", path) }
        if failure == nil, fsync(fd) != 0 { failure = ioError("cannot flush", path) }
        if close(fd) != 0, failure == nil { failure = ioError("cannot close", path) }
        if failure == nil, rename(temporary, path) != 0 { failure = ioError("cannot rename the temporary file to", path) }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    static func ioError(_ action: String, _ path: String) -> FFFError {
        let reason = String(cString: strerror(errno))
        return FFFError(.ioError, "\(action) '\(path)': \(reason)")
    }
}

/// `read(2)`, named apart from the methods called `read`.
private func posixRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
