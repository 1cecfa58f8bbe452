import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Lines of a byte stream, without their `\n` (and without a `\r` before it), for the path list
/// of `classify --files` and text labels files. A gzip stream (magic `1f 8b`) is decompressed
/// when `detectsGzip` is set.
///
/// Memory: one buffer that grows to the longest line, up to `maxLineBytes`; a longer line is an
/// error rather than unbounded buffering. A line returned is valid until the next call.
final class LineReader {
    private var source: any ByteSource
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEOF = false
    private var checkedGzip: Bool
    /// The longest line accepted, in bytes.
    let maxLineBytes: Int
    /// Lines returned so far: the 1-based number of the last one.
    private(set) var lineNumber = 0
    /// Whether the stream was found to be gzip-compressed (known after the first `next`).
    private(set) var isCompressed = false

    /// A reader of `source`. Allocates its buffer (64 KiB to start).
    init(source: any ByteSource, detectsGzip: Bool, maxLineBytes: Int = 1 << 20) {
        self.source = source
        self.maxLineBytes = maxLineBytes
        checkedGzip = !detectsGzip
        capacity = 1 << 16
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// The next line, or nil at the end of the stream. A last line without `\n` counts.
    /// Throws `RecordError` when reading fails or a line exceeds ``maxLineBytes``.
    func next() throws(RecordError) -> UnsafeBufferPointer<UInt8>? {
        if !checkedGzip { try switchToGzipIfCompressed() }
        var scanned = 0
        while true {
            let available = end - start
            if available > scanned, let found = memchr(storage + start + scanned, 0x0A, available - scanned) {
                let length = found.assumingMemoryBound(to: UInt8.self) - (storage + start)
                return try take(length, consumed: length + 1)
            }
            scanned = available
            if available > maxLineBytes {
                throw RecordError(.lineTooLong, "line \(lineNumber + 1) is longer than \(maxLineBytes) bytes",
                                  recordNumber: nil)
            }
            if try readMore() == 0 {
                if end == start { return nil }
                return try take(end - start, consumed: end - start)
            }
        }
    }

    private func take(_ length: Int, consumed: Int) throws(RecordError) -> UnsafeBufferPointer<UInt8> {
        if length > maxLineBytes {
            throw RecordError(.lineTooLong, "line \(lineNumber + 1) is longer than \(maxLineBytes) bytes")
        }
        lineNumber += 1
        var count = length
        if count > 0 && storage[start + count - 1] == 0x0D { count -= 1 }
        let line = UnsafeBufferPointer(start: storage + start, count: count)
        start += consumed
        return line
    }

    /// One read into the free space, moving unconsumed bytes to the front or growing first.
    private func readMore() throws(RecordError) -> Int {
        if atEOF { return 0 }
        if start > 0 {
            let n = end - start
            if n > 0 { memmove(storage, storage + start, n) }
            start = 0
            end = n
        }
        if end == capacity {
            let newCapacity = capacity * 2
            let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            newStorage.update(from: storage, count: end)
            storage.deallocate()
            storage = newStorage
            capacity = newCapacity
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
        if n == 0 { atEOF = true }
        end += n
        return n
    }

    private func switchToGzipIfCompressed() throws(RecordError) {
        checkedGzip = true
        while end - start < 2 {
            if try readMore() == 0 { break }
        }
        guard end - start >= 2, storage[start] == 0x1F, storage[start + 1] == 0x8B else { return }
        let prefix = UnsafeRawBufferPointer(start: storage + start, count: end - start)
        source = try GzipSource(wrapping: source, prefix: prefix)
        isCompressed = true
        start = 0
        end = 0
        atEOF = false
    }
}
