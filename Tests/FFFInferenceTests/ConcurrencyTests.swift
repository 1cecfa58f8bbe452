import FFFFormat
import Foundation
import Testing
@testable import FFFInference

/// One model shared by many threads, each with its own workspace: every result equals the
/// single-threaded one bit for bit. Run under `swift test --sanitize=thread` as well.
@Suite struct ConcurrencyTests {
    @Test func manyThreadsShareOneModel() throws {
        let I = 784, O = 10
        let model = InferenceModel(try RandomModels.model(inputWidth: I, outputWidth: O, depth: 4, leafWidth: 8,
                                                          masterWidth: 8, preprocessing: Preprocessing(scale: 2 / 255, offset: -1),
                                                          seed: 42))
        let recordCount = 100
        let records = RandomModels.records(recordCount, width: I, scale: 255, seed: 8).map { abs($0) }
        let expected: [Float] = {
            let ws = model.makeWorkspace()
            var all: [Float] = []
            for r in 0..<recordCount {
                all += model.predict(Array(records[r * I ..< (r + 1) * I]), workspace: ws)
            }
            return all
        }()
        let expectedBits = expected.map(\.bitPattern)

        let threads = 8, perThread = 2000
        let mismatches = Counter()
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                let ws = Workspace(for: model, batchCapacity: 16)
                var out = [Float](repeating: 0, count: O)
                var bad = 0
                var done = 0
                var r = t
                while done < perThread {
                    if done % 100 == 99 {
                        // A batch of 20 consecutive records.
                        let start = r % (recordCount - 20)
                        let (outputs, _) = model.predictBatch(Array(records[start * I ..< (start + 20) * I]), workspace: ws)
                        if outputs.map(\.bitPattern) != Array(expectedBits[start * O ..< (start + 20) * O]) { bad += 1 }
                        done += 20
                    } else {
                        let index = r % recordCount
                        records.withUnsafeBufferPointer { all in
                            let record = UnsafeBufferPointer(rebasing: all[index * I ..< (index + 1) * I])
                            out.withUnsafeMutableBufferPointer { o in _ = model.predict(record, into: o, workspace: ws) }
                        }
                        if out.map(\.bitPattern) != Array(expectedBits[index * O ..< (index + 1) * O]) { bad += 1 }
                        done += 1
                    }
                    r += 7
                }
                mismatches.add(bad)
            }
            thread.start()
        }
        group.wait()
        #expect(mismatches.value == 0)
    }
}

private final class Counter: @unchecked Sendable {
    // @unchecked: `total` is guarded by `lock`.
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}
