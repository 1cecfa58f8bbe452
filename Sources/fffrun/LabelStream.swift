import ArgumentParser
import FFFRecords

/// The true classes of `fffrun eval`, read one at a time from a labels file, so that inputs and
/// labels are streamed side by side in bounded memory.
///
/// Formats (`--labels-format`, gzip recognised in each):
/// - `idx`: an IDX file of single values (MNIST's `idx1-ubyte` labels);
/// - `npy`: a 1-D NumPy array of integers (integral floats are accepted);
/// - `text`: one label per line: a label name of the model (matched byte for byte, first) or a
///   class index `0 ..< O`; blanks around it are ignored; blank lines only at the end;
/// - `auto`: IDX or NPY by their magic, else text.
///
/// Every label must name a class of the model (`0 ..< O`); a label that does not is a data
/// error naming the file, the label's number (and line) and the value.
final class LabelStream {
    /// `--labels-format`.
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case auto, idx, text, npy
    }

    /// The file's path, for messages.
    let path: String
    /// The format found: `idx`, `npy` or `text`, with ` (gzip)` when compressed.
    let formatName: String
    /// The number of labels an IDX or NPY header declares.
    let declaredCount: Int?
    /// Labels returned so far.
    private(set) var count = 0
    private let outputWidth: Int
    private let reader: RecordReader?
    private let lines: LineReader?
    private let names: [String: Int]
    /// One label's value; allocated last in `init`, so no throwing path can leak it.
    private let value: UnsafeMutableBufferPointer<Float>
    private var blankLine: Int?

    /// Opens `path` (66 when it cannot be opened) and reads its header (65 when it is bad).
    init(path: String, format: Format, outputWidth: Int, labels: [String]?) throws(CommandFailure) {
        self.path = path
        self.outputWidth = outputWidth
        var names: [String: Int] = [:]
        for (index, label) in (labels ?? []).enumerated() { names[label] = index }
        self.names = names
        let source = try Self.open(path)
        var binary: RecordReader?
        if format != .text {
            do {
                let requested: RecordFormat = format == .idx ? .idx : format == .npy ? .npy : .auto
                let reader = try RecordReader(source: source, format: requested, expectedWidth: 1)
                try reader.prepare()
                if reader.format == .idx || reader.format == .npy { binary = reader }
            } catch {
                throw Self.failure(error, path: path)
            }
        }
        if let binary {
            reader = binary
            lines = nil
            declaredCount = binary.declaredRecordCount
            formatName = binary.format!.rawValue + (binary.isCompressed ? " (gzip)" : "")
        } else {
            // Text (asked for, or found by auto): read the file again from its start.
            reader = nil
            let textSource = try Self.open(path)
            lines = LineReader(source: textSource, detectsGzip: true, maxLineBytes: 1 << 16)
            declaredCount = nil
            formatName = "text"
        }
        value = .allocate(capacity: 1)
        value.initialize(repeating: 0)
    }

    deinit { value.deallocate() }

    private static func open(_ path: String) throws(CommandFailure) -> FileDescriptorSource {
        do {
            return try FileDescriptorSource(path: path)
        } catch {
            throw CommandFailure(CommandFailure.noInput, "labels file: \(error.message)")
        }
    }

    private static func failure(_ error: RecordError, path: String) -> CommandFailure {
        if error.kind == .wrongWidth {
            return CommandFailure(CommandFailure.dataError,
                "labels file '\(path)': labels must be single values (a 1-D IDX or NPY array): \(error.message)")
        }
        return CommandFailure.reading(error, from: "labels file '\(path)'")
    }

    /// The next label's class index, or nil at the end of the file.
    func next() throws(CommandFailure) -> Int? {
        let label = try reader != nil ? nextBinary() : nextText()
        if label != nil { count += 1 }
        return label
    }

    private func nextBinary() throws(CommandFailure) -> Int? {
        do {
            guard try reader!.next(into: value) else { return nil }
        } catch {
            throw Self.failure(error, path: path)
        }
        let x = value[0]
        guard x == x.rounded(), x >= 0, x < Float(outputWidth) else {
            throw CommandFailure(CommandFailure.dataError,
                "labels file '\(path)', label \(count + 1): \(x) is not a class index 0...\(outputWidth - 1)")
        }
        return Int(x)
    }

    private func nextText() throws(CommandFailure) -> Int? {
        while true {
            let found: UnsafeBufferPointer<UInt8>?
            do { found = try lines!.next() } catch { throw Self.failure(error, path: path) }
            guard let line = found else { return nil }
            let lineNumber = lines!.lineNumber
            var a = 0, b = line.count
            while a < b && (line[a] == 0x20 || line[a] == 0x09) { a += 1 }
            while b > a && (line[b - 1] == 0x20 || line[b - 1] == 0x09 || line[b - 1] == 0x0D) { b -= 1 }
            if lineNumber == 1 && b - a >= 3 && line[a] == 0xEF && line[a + 1] == 0xBB && line[a + 2] == 0xBF { a += 3 }
            if a == b {
                if blankLine == nil { blankLine = lineNumber }
                continue
            }
            let place = count + 1 == lineNumber ? "label \(count + 1)" : "label \(count + 1) (line \(lineNumber))"
            if let blankLine {
                throw CommandFailure(CommandFailure.dataError,
                    "labels file '\(path)', line \(blankLine) is empty (blank lines are accepted only at the end)")
            }
            let token = UnsafeBufferPointer(rebasing: line[a..<b])
            if !names.isEmpty, let index = names[String(decoding: token, as: UTF8.self)] { return index }
            var index = 0
            var digits = 0
            for byte in token {
                guard byte >= 0x30 && byte <= 0x39, digits < 18 else { digits = -1; break }
                index = index * 10 + Int(byte - 0x30)
                digits += 1
            }
            if digits > 0 && index < outputWidth { return index }
            // Escaped: a label file's control characters must not reach the terminal raw.
            let text = String(decoding: OutputFormatter.escapedForText(String(decoding: token.prefix(64), as: UTF8.self)), as: UTF8.self)
            let what = names.isEmpty ? "is not a class index 0...\(outputWidth - 1)"
                : "is neither a class index 0...\(outputWidth - 1) nor one of the model's labels"
            throw CommandFailure(CommandFailure.dataError, "labels file '\(path)', \(place): '\(text)' \(what)")
        }
    }
}
