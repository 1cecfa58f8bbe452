import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of threads that run one job at a time in parallel with the caller: `run(n, body)`
/// calls `body(0)` on the calling thread and `body(1) ... body(n - 1)` on workers, and returns
/// when all have finished. The threads start once and wait on semaphores between jobs, so a job
/// allocates nothing.
///
/// The pool is driven by one thread. `body` must make task `i` touch only memory no other task
/// writes (each task gets its own workspace, share of records and output buffer).
final class WorkerPool: @unchecked Sendable {
    // @unchecked: `job` and `stopping` are written by the driving thread only while every worker
    // waits on its `start` semaphore; the semaphores order those writes before the workers' reads
    // and the workers' writes (through `body`) before `run` returns.

    /// The parallelism: the caller plus `size - 1` workers.
    let size: Int
    private var threads: [pthread_t] = []
    private let start: [DispatchSemaphore]
    private let done = DispatchSemaphore(value: 0)
    private var job: ((Int) -> Void)?
    private var stopping = false

    /// Starts `size - 1` worker threads. Throws ``PoolError`` when the system refuses one.
    init(size: Int) throws(PoolError) {
        precondition(size >= 1, "a pool needs at least one thread")
        self.size = size
        start = (0..<size).map { _ in DispatchSemaphore(value: 0) }
        for index in 1..<max(size, 1) {
            let slot = Unmanaged.passRetained(WorkerSlot(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { context in
                let slot = Unmanaged<WorkerSlot>.fromOpaque(context!).takeRetainedValue()
                slot.pool.work(slot.index)
                return nil
            }, slot)
            if status != 0 {
                Unmanaged<WorkerSlot>.fromOpaque(slot).release()
                shutdown()
                throw PoolError(message: "cannot start worker thread \(index): \(String(cString: strerror(status)))")
            }
            threads.append(thread)
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
            for index in 1..<tasks { start[index].signal() }
            body(0)
            for _ in 1..<tasks { done.wait() }
            job = nil
        }
    }

    /// Stops and joins the workers. Idempotent.
    func shutdown() {
        if threads.isEmpty { return }
        stopping = true
        for index in 1...threads.count { start[index].signal() }
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    private func work(_ index: Int) {
        while true {
            start[index].wait()
            if stopping { return }
            job!(index)
            done.signal()
        }
    }
}

/// What a worker thread needs to find its pool and task number.
private final class WorkerSlot {
    // unowned(unsafe): the pool joins its workers before it is deallocated.
    unowned(unsafe) let pool: WorkerPool
    let index: Int

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
