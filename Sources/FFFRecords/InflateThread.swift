#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ``GzipSource`` run on a thread of its own: the thread inflates ahead into a ring of
/// chunks while the reader's thread parses and evaluates what was inflated before, so that
/// decompression and the rest overlap on two cores.
///
/// The bytes, their order and every error are those of the wrapped source: a chunk holds the
/// bytes the source produced and then, possibly, the error it threw, which `read` delivers
/// after those bytes, exactly where a direct reader would have met it.
///
/// Only for inputs whose reads never wait for a producer (regular files): the thread reads
/// ahead whether or not anybody waits for answers. Memory: `chunks * chunkBytes` (4 MiB by
/// default) and one thread, both released on deinit (which waits for the thread to stop).
public final class InflateThread: ByteSource, @unchecked Sendable {
    // @unchecked: each chunk is written by the inflating thread only between a `free` wait and
    // a `filled` signal, and read by the reader only between a `filled` wait and a `free`
    // signal; the semaphores order those accesses. `stopping` is set before the last `free`
    // signal and read after a `free` wait.
    private let source: any ByteSource
    private let chunkBytes: Int
    private let storage: UnsafeMutableRawPointer
    private let count: UnsafeMutablePointer<Int>
    private let errors: UnsafeMutablePointer<RecordError?>
    private let chunks: Int
    private var free: UnsafeMutablePointer<sem_t>
    private var filled: UnsafeMutablePointer<sem_t>
    /// Posted by the thread as the last thing it does (it is detached: nothing joins it).
    private var exited: UnsafeMutablePointer<sem_t>
    private var thread = pthread_t()
    private var started = false
    private var stopping = false
    // The reader's side.
    private var current = 0
    private var position = 0
    private var holding = false
    private var finished = false
    private var pendingError: RecordError?

    /// Starts inflating `source` (a ``GzipSource`` over a regular file) on a new thread. When no
    /// thread can be started, reads go to `source` directly.
    public init(source: any ByteSource, chunks: Int = 4, chunkBytes: Int = 1 << 20) {
        self.source = source
        self.chunks = max(2, chunks)
        self.chunkBytes = max(4096, chunkBytes)
        storage = .allocate(byteCount: self.chunks * self.chunkBytes, alignment: 64)
        count = .allocate(capacity: self.chunks)
        count.initialize(repeating: 0, count: self.chunks)
        errors = .allocate(capacity: self.chunks)
        errors.initialize(repeating: nil, count: self.chunks)
        free = .allocate(capacity: 1)
        filled = .allocate(capacity: 1)
        exited = .allocate(capacity: 1)
        sem_init(free, 0, UInt32(self.chunks))
        sem_init(filled, 0, 0)
        sem_init(exited, 0, 0)
        let context = Unmanaged.passRetained(Box(self)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.owner.inflate()
            return nil
        }, context)
        if status == 0 {
            started = true
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
        }
    }

    deinit {
        if started {
            stopping = true
            sem_post(free)  // wake the thread if it waits for room
            while sem_wait(exited) != 0 {}
        }
        sem_destroy(free)
        sem_destroy(filled)
        sem_destroy(exited)
        free.deallocate()
        filled.deallocate()
        exited.deallocate()
        errors.deinitialize(count: chunks)
        errors.deallocate()
        count.deallocate()
        storage.deallocate()
    }

    /// The inflating thread: fills chunks in turn until the end of the stream or an error.
    private func inflate() {
        defer { sem_post(exited) }  // the last use of `self` on this thread
        var index = 0
        while true {
            while sem_wait(free) != 0 {}
            if stopping { return }
            let chunk = UnsafeMutableRawBufferPointer(start: storage + index * chunkBytes, count: chunkBytes)
            var n = 0
            var error: RecordError?
            // Fill the chunk (the source may return less than asked); an error ends it.
            while n < chunkBytes {
                do {
                    let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[n...]))
                    if got == 0 { break }
                    n += got
                } catch let failure {
                    error = failure
                    break
                }
            }
            count[index] = n
            errors[index] = error
            let last = n < chunkBytes
            sem_post(filled)
            if last { return }  // the end, or an error: nothing follows
            index = (index + 1) % chunks
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        if !started { return try source.read(into: buffer) }
        if let pendingError { throw pendingError }
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            if !holding {
                while sem_wait(filled) != 0 {}
                holding = true
                position = 0
            }
            let available = count[current] - position
            if available > 0 {
                let n = min(available, buffer.count)
                out.copyMemory(from: storage + current * chunkBytes + position, byteCount: n)
                position += n
                return n
            }
            // This chunk is used up.
            if let error = errors[current] {
                pendingError = error
                throw error
            }
            if count[current] < chunkBytes {
                finished = true
                return 0
            }
            holding = false
            current = (current + 1) % chunks
            sem_post(free)
        }
    }

    /// What the thread needs to find its source.
    private final class Box {
        unowned(unsafe) let owner: InflateThread
        init(_ owner: InflateThread) { self.owner = owner }
    }
}
