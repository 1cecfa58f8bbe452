// Shared by every fuzz target (fuzz/README.md). Compiled into each target's binary.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Stops the process with a message on stderr. `abort()` raises SIGABRT, which libFuzzer turns
/// into a crash report with a stack trace and saves the input as `crash-<sha1>`.
func fuzzFail(_ message: String) -> Never {
    let text = Array("FUZZ ORACLE FAILURE: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// `fuzzFail` unless `condition` holds.
@inline(__always)
func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fuzzFail(message()) }
}

/// An integer from the environment, for knobs that must not depend on the input.
func fuzzEnvironmentInt(_ name: String, default value: Int) -> Int {
    guard let raw = getenv(name), let parsed = Int(String(cString: raw)) else { return value }
    return parsed
}

/// The input as a buffer, never with a nil base address (libFuzzer may pass NULL for size 0).
func fuzzInput(_ start: UnsafeRawPointer?, _ count: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: count == 0 ? nil : start, count: count)
}

/// A copy of `bytes` that starts one byte past a 16-byte boundary and ends exactly at the end of
/// its allocation, so that AddressSanitizer still catches any read past the end while the code
/// under test sees a misaligned buffer (the spec says a buffer may start anywhere). Free with
/// `deallocate()` on the returned pointer's allocation base (`result.baseAddress! - 1`).
final class MisalignedCopy {
    private let allocation: UnsafeMutableRawPointer
    let bytes: UnsafeRawBufferPointer

    init(_ source: UnsafeRawBufferPointer) {
        allocation = UnsafeMutableRawPointer.allocate(byteCount: source.count + 1, alignment: 16)
        let start = allocation + 1
        if source.count > 0 { start.copyMemory(from: source.baseAddress!, byteCount: source.count) }
        bytes = UnsafeRawBufferPointer(start: start, count: source.count)
    }

    deinit { allocation.deallocate() }
}

/// FNV-1a of the input: a stable way to derive per-input choices (writer options, ...).
func fuzzHash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
}
