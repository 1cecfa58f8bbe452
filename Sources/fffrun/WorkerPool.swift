import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of threads that run one job at a time in parallel with the caller: `run(n, body)`
/// calls `body(0)` on the calling thread and `body(1) ... body(n - 1)` on workers, and returns
/// when all have finished. The threads start once and wait between jobs, so a job allocates
/// nothing.
///
/// Waiting spins first, then sleeps: a worker that finished its task watches for the next job,
/// and the caller watches for the workers to finish, for up to ``spinNanoseconds`` before
/// blocking on a semaphore. `fffrun` starts a job every round of about a thousand records
/// (several hundred a second): waking a blocked thread costs tens of microseconds on a virtual
/// machine, and spinning through the caller's short serial work between rounds avoids it
/// (measured on 1 M records, `--threads 2`: see BENCHMARKS.md). The default, 1 ms, outlasts the
/// caller's `read()` of a CSV round (about 2.4 MB); 200 µs did not, and left CSV `eval` 10 %
/// slower. When the process may use fewer CPUs than there are threads (``usableCPUs()``), a
/// spinning thread would take the core from the one it waits for: then nobody spins.
///
/// The pool is driven by one thread. `body` must make task `i` touch only memory no other task
/// writes (each task gets its own workspace, share of records and output buffer).
final class WorkerPool: @unchecked Sendable {
    // @unchecked: `job` is written by the driving thread only while no worker runs a task; the
    // store of a new generation orders that write before the workers' reads, and `running`'s
    // decrements order the workers' writes (through `body`) before `run` returns.

    /// The parallelism: the caller plus `size - 1` workers.
    let size: Int
    /// How long a waiting thread spins before it sleeps (0 when usable CPUs are fewer than
    /// threads, or after ``stopSpinning()``).
    var spinNanoseconds: Int { spinLimit.load(ordering: .relaxed) }
    private let spinLimit: Atomic<Int>
    private var threads: [pthread_t] = []
    private var slots: [WorkerSlot] = []
    /// Bumped by the driving thread to start a job: a job counter in the high bits, the job's
    /// task count in the low 16 (0: stop), so that a worker reads both at once.
    private let generation = Atomic<Int>(0)
    /// Workers still running the current job, plus ``callerAsleep`` once the driving thread
    /// waits on `done`: one word, so that the worker whose decrement ends the job learns in the
    /// same step whether to signal (a separate flag let a late signal of one job wake the
    /// caller of the next).
    private let running = Atomic<Int>(0)
    private static let callerAsleep = 1 << 32
    private let done = DispatchSemaphore(value: 0)
    private var job: ((Int) -> Void)?

    /// Starts `size - 1` worker threads. Throws ``PoolError`` when the system refuses one.
    init(size: Int, spinNanoseconds: Int = 1_000_000) throws(PoolError) {
        precondition((1...0xFFFF).contains(size), "a pool needs 1 to 65535 threads, not \(size)")
        self.size = size
        spinLimit = Atomic(Self.usableCPUs() >= size ? spinNanoseconds : 0)
        for index in 1..<max(size, 1) {
            let slot = WorkerSlot(pool: self, index: index)
            let context = Unmanaged.passRetained(slot).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { context in
                let slot = Unmanaged<WorkerSlot>.fromOpaque(context!).takeRetainedValue()
                slot.pool.work(slot)
                return nil
            }, context)
            if status != 0 {
                Unmanaged<WorkerSlot>.fromOpaque(context).release()
                shutdown()
                throw PoolError(message: "cannot start worker thread \(index): \(String(cString: strerror(status)))")
            }
            threads.append(thread)
            slots.append(slot)
        }
    }

    deinit { shutdown() }

    /// Runs `body(0 ..< tasks)` in parallel, task 0 on the calling thread.
    /// Precondition: `1 <= tasks <= size`.
    func run(_ tasks: Int, _ body: (Int) -> Void) {
        precondition((1...size).contains(tasks), "\(tasks) tasks for a pool of \(size)")
        if tasks == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            running.store(tasks - 1, ordering: .sequentiallyConsistent)
            startWorkers(tasks: tasks)
            body(0)
            waitForWorkers()
            job = nil
        }
    }

    /// From now on waiting threads sleep at once: for when another thread of the process needs
    /// the cores (fffrun's gzip inflater: spinning beside it made IDX gzip `--threads 2` 1.4x
    /// slower than `--threads 1`).
    func stopSpinning() {
        spinLimit.store(0, ordering: .relaxed)
    }

    /// Stops and joins the workers. Idempotent.
    func shutdown() {
        if threads.isEmpty { return }
        startWorkers(tasks: 0)
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
        slots.removeAll()
    }

    /// A new generation, and a signal for every worker that went to sleep. Dekker's pattern,
    /// all sequentially consistent: either a worker's check after raising its flag sees the new
    /// generation, or its flag is seen here. A signal may come to a worker that is already awake:
    /// it only makes a later wait return at once, and the worker checks again.
    private func startWorkers(tasks: Int) {
        let next = ((generation.load(ordering: .relaxed) >> 16) &+ 1) << 16 | tasks
        generation.store(next, ordering: .sequentiallyConsistent)
        for slot in slots where slot.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
            slot.start.signal()
        }
    }

    private func waitForWorkers() {
        if spin(until: { running.load(ordering: .acquiring) == 0 }) { return }
        // With the flag in the same word, the last decrement either came before (nobody will
        // signal: return) or sees the flag (and signals).
        if running.bitwiseOr(Self.callerAsleep, ordering: .sequentiallyConsistent).oldValue == 0 { return }
        done.wait()
    }

    private func work(_ slot: WorkerSlot) {
        var seen = 0
        while true {
            if !spin(until: { generation.load(ordering: .acquiring) != seen }) {
                while true {
                    slot.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) != seen { break }
                    slot.start.wait()
                    if generation.load(ordering: .acquiring) != seen { break }
                }
                slot.sleeping.store(false, ordering: .relaxed)
            }
            seen = generation.load(ordering: .acquiring)
            if seen & 0xFFFF == 0 { return }
            // A job with fewer tasks than threads leaves the last workers out.
            if slot.index < seen & 0xFFFF {
                job!(slot.index)
                if running.subtract(1, ordering: .sequentiallyConsistent).newValue == Self.callerAsleep {
                    done.signal()
                }
            }
        }
    }

    /// Polls `ready` for up to ``spinNanoseconds``; whether it became true.
    @inline(__always)
    private func spin(until ready: () -> Bool) -> Bool {
        if ready() { return true }
        let limit = spinNanoseconds
        if limit == 0 { return false }
        let deadline = Self.now() &+ limit
        while true {
            for _ in 0..<64 where ready() { return true }
            if Self.now() >= deadline { return ready() }
        }
    }

    /// The CPUs this process may run on: those of its affinity mask (`taskset`, a container's
    /// cpuset) from /proc/self/status, else the online ones.
    static func usableCPUs() -> Int {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        guard let file = fopen("/proc/self/status", "r") else { return online }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        let key = "Cpus_allowed_list:"
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(key) else { continue }
            // "0-3,8,10-11"
            var count = 0
            for part in text.dropFirst(key.count).split(separator: ",") {
                let bounds = part.split(separator: "-").map { Int(String($0.filter { !$0.isWhitespace })) }
                switch bounds.count {
                case 1: if bounds[0] != nil { count += 1 } else { return online }
                case 2:
                    guard let low = bounds[0], let high = bounds[1], high >= low else { return online }
                    count += high - low + 1
                default: return online
                }
            }
            return count > 0 ? min(count, online) : online
        }
        return online
    }

    /// CLOCK_MONOTONIC in nanoseconds (a vDSO call: tens of nanoseconds).
    static func now() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec &* 1_000_000_000 &+ time.tv_nsec
    }
}

/// What a worker thread needs to find its pool and task number, and how it is woken.
private final class WorkerSlot {
    // unowned(unsafe): the pool joins its workers before it is deallocated.
    unowned(unsafe) let pool: WorkerPool
    let index: Int
    /// Set by the worker before it sleeps on `start`.
    let sleeping = Atomic<Bool>(false)
    let start = DispatchSemaphore(value: 0)

    init(pool: WorkerPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}

/// A worker thread could not be started.
struct PoolError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
