import FFFRecords
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line on standard error that counts records during a long run, rewritten in place
/// ("12345 records, 42%, 3 s, 3858 records/s, about 4 s left"; the share and the time left only
/// when the size of the input is known). Shown only when standard error is a terminal, only
/// after the first second, and at most four times a second; erased before any other message
/// and at the end, so that nothing of it remains in the terminal's scrollback. On a terminal
/// that declares itself dumb (`TERM=dumb`, as Emacs shells do) it uses no escape sequences:
/// only carriage returns and blanks.
final class ProgressLine {
    private let enabled: Bool
    private let usesEscapes: Bool
    private let startTime = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private var visibleWidth = 0
    private let prefix: String

    /// The share of the input done so far, 0...1, when it can be known (the input's size or
    /// its declared record count); asked only when the line is redrawn.
    var fraction: (() -> Double?)?

    /// A progress line for `command` ("classify"), enabled when `enabled` and standard error is a
    /// terminal.
    init(command: String, enabled: Bool) {
        self.enabled = enabled && isatty(2) == 1
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        usesEscapes = !(term.isEmpty || term == "dumb")
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
        draw(Self.text(records: records, elapsed: elapsed, fraction: fraction?()))
    }

    /// "12345 records, 42%, 3 s, 3858 records/s, about 4 s left"; the share and time left only
    /// when `fraction` is known and above zero.
    static func text(records: Int, elapsed: Double, fraction: Double?) -> String {
        let rate = elapsed > 0 ? Int(Double(records) / elapsed) : 0
        guard let fraction, fraction > 0, fraction.isFinite else {
            return "\(records) records, \(Int(elapsed)) s, \(rate) records/s"
        }
        let done = min(fraction, 1)
        let left = elapsed * (1 - done) / done
        return "\(records) records, \(Int(done * 100))%, \(Int(elapsed)) s, \(rate) records/s, about \(duration(left)) left"
    }

    /// "4 s", "2 min 5 s", "1 h 3 min".
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        return "\(s / 3600) h \(s % 3600 / 60) min"
    }

    /// Erases the line if it is shown.
    func clear() {
        guard visibleWidth > 0 else { return }
        printRaw(usesEscapes ? "\r\u{1B}[K" : "\r" + String(repeating: " ", count: visibleWidth) + "\r")
        visibleWidth = 0
    }

    private func draw(_ text: String) {
        let line = prefix + text
        let width = line.unicodeScalars.count
        if usesEscapes {
            printRaw("\r\u{1B}[K" + line)
        } else {
            printRaw("\r" + line + String(repeating: " ", count: max(0, visibleWidth - width)))
        }
        visibleWidth = usesEscapes ? width : max(width, visibleWidth)
    }

    /// Follows one record stream: the share of its file read, or of the records its IDX/NPY
    /// header declares when it is not a regular file.
    func follow(_ reader: RecordReader, from source: FileDescriptorSource) {
        fraction = { [unowned reader, unowned source] in
            if let size = source.regularFileSize, size > 0 { return Double(source.bytesRead) / Double(size) }
            if let declared = reader.declaredRecordCount, declared > 0 { return Double(reader.recordsRead) / Double(declared) }
            return nil
        }
    }

    /// The total size of the inputs at `paths` (`-`: standard input) when every one is a
    /// regular file, else nil: the denominator of a share done by bytes read.
    static func totalSize(ofRegularFiles paths: [String]) -> Int? {
        var total = 0
        for path in paths {
            var status = stat()
            let found = path == "-" ? fstat(0, &status) : stat(path, &status)
            guard found == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
            total += Int(status.st_size)
        }
        return total
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
