import CFFFKernels
import FFFFormat
import Foundation
import Testing
@testable import FFFInference

/// FFF_KERNEL forces a path; an unknown or unsupported one stops the process with a message.
/// Each case runs in a child process, since the variable is read once per process.
@Suite struct KernelSelectionTests {
    @Test func environmentForcesPortable() async {
        await #expect(processExitsWith: .success) {
            setenv("FFF_KERNEL", "portable", 1)
            precondition(KernelPath.default == .portable)
            let model = InferenceModel(try! RandomModels.model(inputWidth: 3, outputWidth: 2, depth: 1, leafWidth: 1,
                                                               masterWidth: 0, seed: 1))
            precondition(model.kernel == .portable)
        }
    }

    @Test(.enabled(if: KernelPath.avx2.isSupported, "this CPU has no AVX2+FMA"))
    func environmentForcesAVX2() async {
        await #expect(processExitsWith: .success) {
            setenv("FFF_KERNEL", "avx2", 1)
            precondition(KernelPath.default == .avx2)
        }
    }

    @Test func emptyEnvironmentValuePicksTheBest() async {
        await #expect(processExitsWith: .success) {
            setenv("FFF_KERNEL", "", 1)
            precondition(KernelPath.default == KernelPath.best)
        }
    }

    /// fff_plan_prefetch_rule: prefetch when all the weights exceed 32 times this core's L2, at
    /// the byte: one leaf of one unit with no outputs weighs input_stride * 4 bytes.
    @Test func prefetchRuleAtThirtyTwoTimesTheL2() {
        var l2 = sysconf(Int32(_SC_LEVEL2_CACHE_SIZE))
        if l2 <= 0 { l2 = 1 << 20 }
        var p = fff_plan()
        p.depth = 0
        p.leaf_width = 1
        p.input_stride = 8 * Int64(l2)
        #expect(fff_plan_prefetch_rule(&p) == 0)
        p.input_stride = 8 * Int64(l2) + 1
        #expect(fff_plan_prefetch_rule(&p) == 1)
        // 768 -> 768, depth 12, leaf 8 in float32 (214 MB) prefetches; the paper's shape does not.
        // (Up to a 6 MB L2; no x86 core has more.)
        p.depth = 12; p.leaf_width = 8; p.input_stride = 768; p.output_stride = 768
        #expect(fff_plan_prefetch_rule(&p) == 1)
        p.depth = 4; p.master_width = 8; p.input_stride = 784; p.output_stride = 16
        #expect(fff_plan_prefetch_rule(&p) == 0)
        p.weight_type = Int32(ElementType.int8Row.rawValue) // smaller still
        #expect(fff_plan_prefetch_rule(&p) == 0)
    }

    /// Prefetching changes no output: a small model with the flag forced on gives the outputs and
    /// leaves it gives with the flag off (the flag's index arithmetic exercised on every path).
    @Test(arguments: KernelPath.supported)
    func prefetchingChangesNoOutput(kernel: KernelPath) throws {
        let model = InferenceModel(try RandomModels.model(inputWidth: 37, outputWidth: 5, depth: 5, leafWidth: 3,
                                                          masterWidth: 9, seed: 4), kernel: kernel)
        #expect(model.plan.pointee.prefetch_weights == 0)
        let records = RandomModels.records(150, width: 37, seed: 5)
        let plain = model.predictBatch(records, workspace: model.makeWorkspace())
        model.plan.pointee.prefetch_weights = 1
        defer { model.plan.pointee.prefetch_weights = 0 }
        let prefetched = model.predictBatch(records, workspace: model.makeWorkspace())
        #expect(prefetched.outputs == plain.outputs)
        #expect(prefetched.leaves == plain.leaves)
    }

    @Test func unknownEnvironmentValueTraps() async {
        await #expect(processExitsWith: .failure) {
            setenv("FFF_KERNEL", "sse9", 1)
            _ = KernelPath.default
        }
    }

    @Test func kernelListsAreConsistent() {
        #expect(KernelPath.portable.isSupported)
        #expect(KernelPath.supported.first == .portable)
        #expect(KernelPath.supported.contains(KernelPath.best))
        #expect(KernelPath.supported.last == KernelPath.best)
        print("kernel paths supported here: \(KernelPath.supported), best \(KernelPath.best), default \(KernelPath.default)")
    }
}
