import CFFFKernels

/// Which implementation of the compute kernels an ``InferenceModel`` runs.
///
/// All paths compute the arithmetic of spec/FORMAT.md §14 and agree within its §14.3 tolerance;
/// they differ in vector width and in whether multiply-adds are fused, so their results can
/// differ in the last bits. Every path runs every element type of format 1.1 (float16, bfloat16
/// and int8-row weights are widened to float32 as they are loaded; the arithmetic is float32). The AVX paths are compiled with per-function target attributes and
/// chosen at run time, so one binary runs on every x86-64 CPU.
public enum KernelPath: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C with 4-lane vector extensions, unfused multiply-adds; runs everywhere.
    case portable
    /// 8-lane AVX2 with FMA; also requires F16C, which widens float16 weights (x86-64 only).
    case avx2
    /// 16-lane AVX-512F with FMA (x86-64 only).
    case avx512

    /// The name `FFF_KERNEL` uses: `portable`, `avx2` or `avx512`.
    public var description: String { rawValue }

    var code: Int32 {
        switch self {
        case .portable: FFF_KERNEL_PORTABLE
        case .avx2: FFF_KERNEL_AVX2
        case .avx512: FFF_KERNEL_AVX512
        }
    }

    init?(code: Int32) {
        switch code {
        case FFF_KERNEL_PORTABLE: self = .portable
        case FFF_KERNEL_AVX2: self = .avx2
        case FFF_KERNEL_AVX512: self = .avx512
        default: return nil
        }
    }

    /// Whether this CPU (and its operating system) can run the path. O(1).
    public var isSupported: Bool { fff_kernel_supported(code) != 0 }

    /// Every path this machine can run, slowest first. Tests run each of them. O(1).
    public static var supported: [KernelPath] { allCases.filter(\.isSupported) }

    /// The fastest path this machine supports, by a rule the benchmarks justify (BENCHMARKS.md,
    /// "Kernel path selection"): AVX-512 before AVX2 before portable, because on every CPU
    /// measured (AMD Zen 5, Intel Xeon) the avx512 kernels were the fastest, one record at a time
    /// and batched; `Benchmarks/scripts/roofline.sh` prints the comparison on a new machine.
    /// Deterministic (no timing at load), so a CPU always gets the same path and the same output
    /// bits. O(1).
    public static var best: KernelPath { KernelPath(code: fff_kernel_best()) ?? .portable }

    /// The path new models use unless told otherwise: the one the environment variable
    /// `FFF_KERNEL` (`portable`, `avx2` or `avx512`) forces, else ``best``. Read once per process;
    /// an empty value counts as unset. O(1).
    ///
    /// Precondition: `FFF_KERNEL`, when set and non-empty, names a path this CPU supports. A value
    /// that is unknown or unsupported stops the process with a message naming it: a forced path
    /// that silently ran another one would falsify the benchmark or test that forced it.
    public static var `default`: KernelPath { environmentDefault }

    /// Why `FFF_KERNEL` cannot be honoured (an unknown name, or a path this CPU lacks), or `nil`
    /// when it is unset, empty or valid. Programs call this before ``default`` to report a bad
    /// setting as a usage error instead of stopping. O(1).
    public static var environmentProblem: String? {
        let requested = fff_kernel_from_environment()
        if requested == -1 { return nil }
        guard let path = KernelPath(code: requested) else {
            return "FFF_KERNEL must be one of portable, avx2, avx512"
        }
        return path.isSupported ? nil : "FFF_KERNEL=\(path) but this CPU does not support it"
    }

    private static let environmentDefault: KernelPath = {
        let requested = fff_kernel_from_environment()
        if requested == -1 { return best }
        guard let path = KernelPath(code: requested) else {
            preconditionFailure("FFF_KERNEL must be one of portable, avx2, avx512")
        }
        precondition(path.isSupported, "FFF_KERNEL=\(path) but this CPU does not support it")
        return path
    }()
}
