#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The read buffer of a `RecordReader`: bytes `[start, end)` of `storage` are read from the
/// source and not yet consumed. It grows only when one record (or text line) needs more room
/// than it has, so in the steady state refills allocate nothing.
final class InputBuffer {
    private(set) var source: any ByteSource
    private(set) var storage: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    /// First unconsumed byte.
    var start = 0
    /// One past the last byte read.
    private(set) var end = 0
    /// The source returned 0: no more bytes will come.
    private(set) var atEOF = false
    /// Stream offset of `storage[0]`.
    private var base = 0
    /// A read error met while whole records were still at hand (``RecordReader/nextRun``):
    /// the next `readMore` throws it instead of reading, where a record-by-record reader would
    /// have met it.
    var deferredError: RecordError?

    init(source: any ByteSource, capacity: Int) {
        self.source = source
        self.capacity = max(capacity, 4096)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// Unconsumed bytes at hand.
    @inline(__always) var available: Int { end - start }

    /// The stream offset (bytes consumed before) of buffer index `index`.
    @inline(__always) func offset(of index: Int) -> Int { base + index }

    /// Reads until at least `count` bytes are at hand or the stream ends; returns whether they
    /// are. Grows the buffer to `count` bytes when it is smaller. O(count) amortised.
    func fill(atLeast count: Int) throws(RecordError) -> Bool {
        if count > capacity { grow(to: count) }
        while available < count {
            if try readMore(growthLimit: count) == 0 { return false }
        }
        return true
    }

    /// One read from the source into the free space. When the back of the buffer is more than
    /// half used, the unconsumed bytes first move to the front; when the buffer is full of
    /// unconsumed bytes it doubles, to at most `growthLimit` bytes (but always by at least
    /// one). Returns the number of bytes added, 0 at the end of the stream.
    @discardableResult
    func readMore(growthLimit: Int) throws(RecordError) -> Int {
        if let deferredError { throw deferredError }
        if atEOF { return 0 }
        if start > 0 && capacity - end < capacity / 2 { compact() }
        if end == capacity { grow(to: max(capacity + 1, min(capacity * 2, growthLimit))) }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end))
        if n == 0 { atEOF = true }
        end += n
        return n
    }

    /// Makes room for `count` bytes from `start` on without reading (moving the bytes at hand
    /// to the front, or growing the buffer), for bytes that others write there
    /// (``extend(by:)``). May move `storage`.
    func reserve(_ count: Int) {
        if start + count <= capacity { return }
        if count <= capacity { compact() } else { grow(to: count) }
    }

    /// The `count` bytes after the last byte read were written by someone else (reads of a
    /// run's parts): they count as read.
    func extend(by count: Int) {
        precondition(count >= 0 && end + count <= capacity, "extend beyond the buffer")
        end += count
    }

    /// Marks `count` bytes at hand as consumed.
    @inline(__always) func consume(_ count: Int) { start += count }

    /// Replaces the source by `newSource` and drops every byte at hand, restarting stream
    /// offsets at 0 (used when gzip is detected: offsets then count decompressed bytes).
    func replaceSource(with newSource: any ByteSource) {
        source = newSource
        start = 0
        end = 0
        base = 0
        atEOF = false
    }

    private func compact() {
        let n = available
        if n > 0 { memmove(storage, storage + start, n) }
        base += start
        start = 0
        end = n
    }

    private func grow(to newCapacity: Int) {
        let n = available
        let newStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        if n > 0 { newStorage.update(from: storage + start, count: n) }
        storage.deallocate()
        storage = newStorage
        base += start
        start = 0
        end = n
        capacity = newCapacity
    }
}
