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
/// default) and one thread; deinit tells the thread to stop and waits until it no longer
/// reads the wrapped source.
public final class InflateThread: ByteSource, @unchecked Sendable {
    // @unchecked: all mutable state shared with the inflating thread lives in `Ring`, whose
    // accesses the semaphores order; the rest is the reader's alone.
    private let ring: Ring
    private let started: Bool
    // The reader's side.
    private var current = 0
    private var position = 0
    private var holding = false
    private var finished = false
    private var pendingError: RecordError?

    /// Starts inflating `source` (a ``GzipSource`` over a regular file) on a new thread. When no
    /// thread can be started, reads go to `source` directly.
    public init(source: any ByteSource, chunks: Int = 4, chunkBytes: Int = 1 << 20) {
        ring = Ring(source: source, chunks: max(2, chunks), chunkBytes: max(4096, chunkBytes))
        // The thread owns a reference of its own to the ring (never to `self`), released as the
        // last thing it does; so neither side can outlive memory the other still uses.
        let context = Unmanaged.passRetained(ring).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let ring = Unmanaged<Ring>.fromOpaque(context!).takeRetainedValue()
            ring.inflate()
            return nil
        }, context)
        if status == 0 {
            started = true
            pthread_detach(thread)
        } else {
            Unmanaged<Ring>.fromOpaque(context).release()
            started = false
        }
    }

    deinit {
        if started { ring.stopAndWait() }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        if !started { return try ring.source.read(into: buffer) }
        if let pendingError { throw pendingError }
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            if !holding {
                while sem_wait(ring.filled) != 0 {}
                holding = true
                position = 0
            }
            let available = ring.count[current] - position
            if available > 0 {
                let n = min(available, buffer.count)
                out.copyMemory(from: ring.storage + current * ring.chunkBytes + position, byteCount: n)
                position += n
                return n
            }
            // This chunk is used up.
            if let error = ring.errors[current] {
                pendingError = error
                throw error
            }
            if ring.count[current] < ring.chunkBytes {
                finished = true
                return 0
            }
            holding = false
            current = (current + 1) % ring.chunks
            sem_post(ring.free)
        }
    }

    /// The chunks, their semaphores and the source: what both threads use, freed when the last
    /// of the two lets go.
    private final class Ring: @unchecked Sendable {
        // @unchecked: each chunk is written by the inflating thread only between a `free` wait
        // and a `filled` signal, and read by the reader only between a `filled` wait and a
        // `free` signal; the semaphores order those accesses. `stopping` is set before a `free`
        // signal and read after a `free` wait.
        let source: any ByteSource
        let chunks: Int
        let chunkBytes: Int
        let storage: UnsafeMutableRawPointer
        let count: UnsafeMutablePointer<Int>
        let errors: UnsafeMutablePointer<RecordError?>
        let free: UnsafeMutablePointer<sem_t>
        let filled: UnsafeMutablePointer<sem_t>
        /// Posted by the thread when it no longer reads the source.
        let exited: UnsafeMutablePointer<sem_t>
        private var stopping = false

        init(source: any ByteSource, chunks: Int, chunkBytes: Int) {
            self.source = source
            self.chunks = chunks
            self.chunkBytes = chunkBytes
            storage = .allocate(byteCount: chunks * chunkBytes, alignment: 64)
            count = .allocate(capacity: chunks)
            count.initialize(repeating: 0, count: chunks)
            errors = .allocate(capacity: chunks)
            errors.initialize(repeating: nil, count: chunks)
            free = .allocate(capacity: 1)
            filled = .allocate(capacity: 1)
            exited = .allocate(capacity: 1)
            sem_init(free, 0, UInt32(chunks))
            sem_init(filled, 0, 0)
            sem_init(exited, 0, 0)
        }

        deinit {
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

        /// Called by the reader's deinit: wakes the thread if it waits for room and waits until
        /// it has stopped reading (at most one chunk's read).
        func stopAndWait() {
            stopping = true
            sem_post(free)
            while sem_wait(exited) != 0 {}
        }

        /// The inflating thread: fills chunks in turn until the end of the stream, an error, or
        /// a stop.
        func inflate() {
            defer { sem_post(exited) }
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
    }
}
