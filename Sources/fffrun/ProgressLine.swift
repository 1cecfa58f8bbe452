#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line on standard error that counts records during a long run, rewritten in place
/// ("\r12345 records, 3.2 s, 3858 records/s"). Shown only when standard error is a terminal,
/// only after the first second, and at most four times a second; erased before any other
/// message and at the end, so that nothing of it remains in the terminal's scrollback.
final class ProgressLine {
    private let enabled: Bool
    private let startTime = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private var visible = false
    private let prefix: String

    /// A progress line for `command` ("classify"), enabled when `enabled` and standard error is a
    /// terminal.
    init(command: String, enabled: Bool) {
        self.enabled = enabled && isatty(2) == 1
        prefix = "fffrun \(command): "
    }

    /// Shows `records` if a quarter second has passed since the last update (and a second since
    /// the start). Cheap when nothing is shown: one clock read.
    func update(records: Int) {
        guard enabled else { return }
        let now = ContinuousClock.now
        let elapsed = Self.seconds(now - startTime)
        if elapsed < 1 { return }
        if let lastShown, Self.seconds(now - lastShown) < 0.25 { return }
        lastShown = now
        let rate = Int(Double(records) / elapsed)
        printRaw("\r\u{1B}[K\(prefix)\(records) records, \(Int(elapsed)) s, \(rate) records/s")
        visible = true
    }

    /// Erases the line if it is shown.
    func clear() {
        guard visible else { return }
        printRaw("\r\u{1B}[K")
        visible = false
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }

    private func printRaw(_ text: String) {
        var copy = text
        copy.withUTF8 { bytes in
            _ = write(2, bytes.baseAddress, bytes.count)
        }
    }
}
