import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import fffrun

/// The pool that runs `fffrun`'s rounds, driven directly: every task of every job runs exactly
/// once, on its own index, and `run` returns only after all have finished, whether the waiting
/// threads spin, sleep, or switch between the two (a spin of a few microseconds makes each job
/// race the moment a thread goes to sleep). A lost wakeup would hang the test; a task run twice
/// or not at all, or `run` returning early, fails its counts. Run under
/// `bash .ci/sanitize thread` as well.
@Suite struct WorkerPoolTests {
    @Test(arguments: [(2, 200_000), (2, 0), (3, 2_000), (4, 200_000), (4, 0)])
    func everyTaskRunsOnceAndRunWaitsForAll(size: Int, spinNanoseconds: Int) throws {
        let pool = try WorkerPool(size: size, spinNanoseconds: spinNanoseconds)
        let slots = UnsafeMutableBufferPointer<Int>.allocate(capacity: size)
        defer { slots.deallocate() }
        let concurrent = Atomic<Int>(0)
        var state: UInt64 = 7
        for job in 1...3000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let tasks = 1 + Int((state >> 33) % UInt64(size))
            slots.initialize(repeating: 0)
            pool.run(tasks) { index in
                concurrent.add(1, ordering: .relaxed)
                // Plain (non-atomic) writes: `run` must order them before it returns.
                slots[index] += job
                if job % 500 == 0 { for _ in 0..<10_000 { _ = concurrent.load(ordering: .relaxed) } }
            }
            let ran = Array(slots)
            #expect(ran == (0..<size).map { $0 < tasks ? job : 0 }, "job \(job), \(tasks) tasks")
            if ran != (0..<size).map({ $0 < tasks ? job : 0 }) { break }
        }
        #expect(concurrent.load(ordering: .relaxed) > 0)
        pool.shutdown()
        pool.shutdown()  // idempotent
    }

    /// Fewer usable CPUs (online, in the affinity mask) than threads: nobody spins (a spinner would hold the core the thread
    /// it waits for needs).
    @Test func spinsOnlyWithACPUForEveryThread() throws {
        let cpus = WorkerPool.usableCPUs()
        #expect((1...Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))).contains(cpus))
        let fits = try WorkerPool(size: max(1, cpus), spinNanoseconds: 5_000)
        #expect(fits.spinNanoseconds == 5_000)
        let tooMany = try WorkerPool(size: cpus + 1, spinNanoseconds: 5_000)
        #expect(tooMany.spinNanoseconds == 0)
    }

    /// Without `--threads`, one thread per CPU of the affinity mask: under `taskset -c 0`, one
    /// (`taskset` is util-linux's, on every Debian system).
    @Test func defaultThreadsFollowTheAffinityMask() throws {
        let demo = try ClassifyFixtures.demo()
        let binary = try FFFRunBinary.location.get().path
        let pinned = try ClassifyFixtures.bash("taskset -c 0 '\(binary)' eval '\(demo.modelPath)' --inputs '\(demo.csvPath)' --labels '\(demo.labelsPath)' -v")
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(pinned.stderr.contains(", 1 thread, "), "\(pinned.stderr)")
        #expect(pinned.lines.first == "accuracy: 92.22% (332 of 360)")
        let free = try ClassifyFixtures.bash("'\(binary)' eval '\(demo.modelPath)' --inputs '\(demo.csvPath)' --labels '\(demo.labelsPath)' -v")
        let cpus = WorkerPool.usableCPUs()
        #expect(free.stderr.contains(cpus == 1 ? ", 1 thread, " : ", \(cpus) threads, "), "\(free.stderr)")
    }

    /// After `stopSpinning` (fffrun's gzip inflater needs a core), waiting threads sleep at once,
    /// and jobs started before and after it still run every task once.
    @Test func stopSpinningKeepsJobsWhole() throws {
        let pool = try WorkerPool(size: 2, spinNanoseconds: 1_000_000)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 2)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0)
        for job in 0..<400 {
            if job == 200 { pool.stopSpinning() }
            pool.run(2) { counts[$0] += 1 }
        }
        #expect(pool.spinNanoseconds == 0)
        #expect(Array(counts) == [400, 400])
    }
}
