#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemPread = Glibc.pread
private let systemPoll = Glibc.poll
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemPread = Darwin.pread
private let systemPoll = Darwin.poll
#endif

/// What a consumer of a ``FileDescriptorSource`` does when the producer pauses: the next
/// `read(2)` would wait, and the consumer holds results (answers to records already read) that
/// the producer may be waiting for. `fffrun classify` writes and flushes them here, so a
/// producer that writes one record and waits for its answer is served.
public protocol InputIdleHandler: AnyObject {
    /// Whether anything would be delivered now. Asked before every `read(2)` of a descriptor
    /// that is not a regular file; false skips the `poll(2)`, so a consumer with nothing pending
    /// costs no extra system call.
    var hasPendingWork: Bool { get }
    /// The descriptor has nothing to read right now (`poll(2)` with timeout 0): deliver what is
    /// pending. The source blocks in `read(2)` as usual afterwards. Must not read the source.
    /// Throwing abandons the read, which throws the error instead (a consumer whose output has
    /// failed need not wait for more input).
    func inputWillWait() throws(RecordError)
}

/// Bytes read with `read(2)` from a file descriptor: standard input by default, or a file it
/// opens. It keeps no buffer of its own: the reader's buffer is read into directly, one system
/// call per refill, so a pipe's records are handled as soon as they arrive.
///
/// With an ``idleHandler`` that has pending work, a read of a pipe, socket or terminal first
/// polls the descriptor (timeout 0) and calls the handler when the read would block. Regular
/// files are never polled.
public final class FileDescriptorSource: ByteSource {
    /// The descriptor read from.
    public let fileDescriptor: Int32
    /// Whether the descriptor is a regular file, whose reads never wait for a producer.
    public let isRegularFile: Bool
    /// Told when a read is about to wait (see ``InputIdleHandler``). Not retained.
    public weak var idleHandler: (any InputIdleHandler)?
    private let closesOnDeinit: Bool
    let name: String
    private var offset = 0
    /// `offset` for other threads: a gzip file is read on the inflating thread while the
    /// progress line asks how far it got.
    private let published = PublishedCount()

    /// The bytes read so far (for a progress display).
    public var bytesRead: Int { published.value }

    /// The size of a regular file at the time of the call (for a progress display); nil for a
    /// pipe, socket or terminal.
    public var regularFileSize: Int? {
        guard isRegularFile else { return nil }
        var status = stat()
        return fstat(fileDescriptor, &status) == 0 ? Int(status.st_size) : nil
    }

    /// Reads `fileDescriptor` (standard input by default) without taking ownership of it.
    public init(fileDescriptor: Int32 = 0, name: String = "standard input") {
        self.fileDescriptor = fileDescriptor
        self.closesOnDeinit = false
        self.name = name
        isRegularFile = Self.isRegularFile(fileDescriptor)
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
        isRegularFile = Self.isRegularFile(fd)
    }

    deinit {
        if closesOnDeinit { close(fileDescriptor) }
    }

    private static func isRegularFile(_ fd: Int32) -> Bool {
        var status = stat()
        return fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// One `read(2)`, retried on EINTR. Throws `.io` with the offset reached on failure.
    /// With an idle handler that has pending work (and not a regular file), first one `poll(2)`,
    /// and the handler's `inputWillWait` when the read would block (its error is thrown).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        if !isRegularFile, let handler = idleHandler, handler.hasPendingWork, !isReadable() {
            try handler.inputWillWait()
        }
        while true {
            let n = systemRead(fileDescriptor, base, buffer.count)
            if n >= 0 {
                offset += n
                published.value = offset
                return n
            }
            if errno == EINTR { continue }
            throw readError(errno)
        }
    }

    /// The file offset the next `read(2)` starts at: for a regular file whose offset can be
    /// asked (`lseek(2)`), else nil.
    public var filePosition: Int? {
        guard isRegularFile else { return nil }
        let position = lseek(fileDescriptor, 0, SEEK_CUR)
        return position >= 0 ? Int(position) : nil
    }

    /// Reads `buffer.count` bytes at file offset `position` (`pread(2)`, retried on EINTR and
    /// after short reads) and returns how many it got: fewer at the end of the file or at an
    /// error, which the next ``read(into:)`` there meets again and reports. Does not move the
    /// descriptor's offset (see ``skip(_:)``); any number of threads may call it at once.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at position: Int) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = systemPread(fileDescriptor, base + done, buffer.count - done, off_t(position + done))
            if n > 0 {
                done += n
            } else if n == 0 || errno != EINTR {
                break
            }
        }
        return done
    }

    /// Moves the descriptor's offset `count` bytes on, past bytes taken with
    /// ``read(into:at:)``, as reading them would have. Throws `.io` if the offset cannot move.
    public func skip(_ count: Int) throws(RecordError) {
        guard count > 0 else { return }
        if lseek(fileDescriptor, off_t(count), SEEK_CUR) < 0 { throw readError(errno) }
        offset += count
        published.value = offset
    }

    /// `.io` for a failure `code` at the current offset.
    private func readError(_ code: Int32) -> RecordError {
        RecordError(.io, "cannot read \(name) at byte \(offset): \(String(cString: strerror(code)))", byteOffset: offset)
    }

    /// Whether a `read(2)` now would return without waiting for a producer: always for a
    /// regular file, else when `poll(2)` (timeout 0) finds bytes, the end or an error there.
    public var canReadWithoutWaiting: Bool { isRegularFile || isReadable() }

    /// Whether a `read(2)` would return at once: bytes, the end of the stream or an error are
    /// there (`poll(2)`, timeout 0). A failed poll counts as not readable.
    private func isReadable() -> Bool {
        var entry = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        return systemPoll(&entry, 1, 0) > 0
    }
}

/// An integer one thread writes and others read, behind a mutex (a few accesses per megabyte
/// read, so the lock costs nothing measurable).
private final class PublishedCount: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var stored = 0

    init() {
        lock = .allocate(capacity: 1)
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    var value: Int {
        get {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            return stored
        }
        set {
            pthread_mutex_lock(lock)
            stored = newValue
            pthread_mutex_unlock(lock)
        }
    }
}
