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
