#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif

/// Bytes read with `read(2)` from a file descriptor: standard input by default, or a file it
/// opens. It keeps no buffer of its own: the reader's buffer is read into directly, one system
/// call per refill, so a pipe's records are handled as soon as they arrive.
public final class FileDescriptorSource: ByteSource {
    /// The descriptor read from.
    public let fileDescriptor: Int32
    private let closesOnDeinit: Bool
    private let name: String
    private var offset = 0

    /// Reads `fileDescriptor` (standard input by default) without taking ownership of it.
    public init(fileDescriptor: Int32 = 0, name: String = "standard input") {
        self.fileDescriptor = fileDescriptor
        self.closesOnDeinit = false
        self.name = name
    }

    /// Opens the file at `path` for reading; the descriptor is closed when the source goes.
    /// Throws `.io` naming the path and the system's reason.
    public init(path: String) throws(RecordError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw RecordError(.io, "cannot open '\(path)': \(reason)")
        }
        self.fileDescriptor = fd
        self.closesOnDeinit = true
        self.name = "'\(path)'"
    }

    deinit {
        if closesOnDeinit { close(fileDescriptor) }
    }

    /// One `read(2)`, retried on EINTR. Throws `.io` with the offset reached on failure.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = systemRead(fileDescriptor, base, buffer.count)
            if n >= 0 {
                offset += n
                return n
            }
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            throw RecordError(.io, "cannot read \(name) at byte \(offset): \(reason)", byteOffset: offset)
        }
    }
}
