#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// Standard output (or another descriptor) written in blocks: bytes collect in a fixed buffer
/// (64 KiB by default) that goes out with one `write(2)` when full, on ``flush()``, and before
/// any error message. Writes larger than the buffer go out directly.
///
/// A failed write (a closed pipe gives EPIPE; `fffrun` ignores SIGPIPE so that it sees it) is
/// reported as an ``OutputError`` and remembered: every later write or flush throws it again
/// without touching the descriptor. Allocates only in `init`.
final class OutputWriter {
    /// The descriptor written to.
    let fileDescriptor: Int32
    /// What the descriptor is, for messages ("standard output").
    let name: String
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    private var failure: OutputError?
    /// Bytes successfully handed to the operating system.
    private(set) var bytesWritten = 0

    /// A writer of `fileDescriptor` with a buffer of `capacity` bytes (at least 4096).
    init(fileDescriptor: Int32 = 1, name: String = "standard output", capacity: Int = 64 << 10) {
        self.fileDescriptor = fileDescriptor
        self.name = name
        self.capacity = max(capacity, 4096)
        buffer = .allocate(capacity: self.capacity)
    }

    deinit { buffer.deallocate() }

    /// Appends `bytes`, writing out the buffer whenever it fills. O(bytes).
    func write(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        if let failure { throw failure }
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if count + bytes.count <= capacity {
            (buffer + count).update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            count += bytes.count
            if count == capacity { try flush() }
            return
        }
        try flush()
        if bytes.count >= capacity {
            try writeAll(source, bytes.count)
        } else {
            buffer.update(from: source.assumingMemoryBound(to: UInt8.self), count: bytes.count)
            count = bytes.count
        }
    }

    /// Whether bytes wait in the buffer for a ``flush()``.
    var hasBufferedBytes: Bool { count > 0 }

    /// Writes out everything buffered.
    func flush() throws(OutputError) {
        if let failure { throw failure }
        if count == 0 { return }
        let n = count
        count = 0
        try writeAll(UnsafeRawPointer(buffer), n)
    }

    private func writeAll(_ start: UnsafeRawPointer, _ length: Int) throws(OutputError) {
        var done = 0
        while done < length {
            let n = systemWrite(fileDescriptor, start + done, length - done)
            if n > 0 {
                done += n
                bytesWritten += n
                continue
            }
            if n < 0 && errno == EINTR { continue }
            let code = n < 0 ? errno : EIO
            let error = OutputError(name: name, errorNumber: code)
            failure = error
            throw error
        }
    }
}

/// Writing the results failed: the descriptor's name and the system's reason
/// ("cannot write to standard output: Broken pipe").
struct OutputError: Error, CustomStringConvertible {
    /// What was written to.
    let name: String
    /// `errno` of the failed `write(2)`.
    let errorNumber: Int32

    /// Whether the reader went away (EPIPE).
    var isBrokenPipe: Bool { errorNumber == EPIPE }

    var description: String {
        "cannot write to \(name): \(String(cString: strerror(errorNumber)))"
    }
}
