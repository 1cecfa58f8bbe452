import ArgumentParser
import FFFRecords

/// The true classes of `fffrun eval`, read one at a time from a labels file, so that inputs and
/// labels are streamed side by side in bounded memory.
///
/// The file is opened once (`-` is standard input), so pipes, process substitution (`<(...)`)
/// and FIFOs work: `auto` detects the format from bytes it keeps and reads again.
///
/// Formats (`--labels-format`, gzip recognised in each):
/// - `idx`: an IDX file of single values (MNIST's `idx1-ubyte` labels);
/// - `npy`: a 1-D NumPy array of integers (integral floats are accepted);
/// - `text`: one label per line: a label name of the model (matched byte for byte, first) or a
///   class index `0 ..< O`, written as an integer or an integral number (`7.0`, numpy.savetxt's
///   `7.000000000000000000e+00`); blanks around it are ignored; blank lines only at the end.
///   A first line that is neither a label nor a number is a header and skipped (`label`). A
///   line of several fields (separated by commas, else tabs, else blanks) holds the label in the
///   column the header names `label`, `labels`, `class`, `target` or `y` (any case), else in its
///   last column (`id,label` then `17,3`);
/// - `auto`: IDX or NPY by their magic, else text.
///
/// Every label must name a class of the model (`0 ..< O`); a label that does not is a data
/// error naming the file, the label's number (and line) and the value.
final class LabelStream {
    /// `--labels-format`.
    enum Format: String, CaseIterable, ExpressibleByArgument {
        case auto, idx, text, npy
    }

    /// The file's path (`-` for standard input).
    let path: String
    /// The format found: `idx`, `npy` or `text`, with ` (gzip)` when compressed, and for text
    /// the header skipped and the column read.
    var formatName: String {
        if let reader { return reader.format!.rawValue + (reader.isCompressed ? " (gzip)" : "") }
        var name = "text" + (lines?.isCompressed == true ? " (gzip)" : "")
        if let header { name += ", header line '\(header)' skipped" }
        if let columns {
            let title = columns.title.map { " '\($0)'" } ?? ""
            name += ", labels from column \(columns.index + 1)\(title) of \(columns.count)"
        }
        return name
    }
    /// The number of labels an IDX or NPY header declares.
    let declaredCount: Int?
    /// Labels returned so far.
    private(set) var count = 0
    private let outputWidth: Int
    private let reader: RecordReader?
    private let lines: LineReader?
    private let names: [String: Int]
    /// "labels file 'PATH'" or "labels on standard input", for messages.
    /// "labels file 'PATH'" or "labels on standard input", for messages.
    let subject: String
    /// One label's value; allocated last in `init`, so no throwing path can leak it.
    private let value: UnsafeMutableBufferPointer<Float>
    /// Labels decoded together (``labels(forRecords:of:into:)``); grows to the largest run.
    private var scratch: UnsafeMutableBufferPointer<Float>
    private var blankLine: Int?

    // Text: what the first line decided.
    private var firstLineSeen = false
    /// The first line when it was skipped as a header (escaped, at most 64 bytes of it), for
    /// messages: a label that was skipped explains a count one short.
    private(set) var header: String?
    /// Where a line of several fields holds its label; nil: the whole line is the label.
    private var columns: Columns?
    /// The header was split into columns; the first data line confirms them (one field: the
    /// header was a phrase such as `true label`, and lines are read whole).
    private var columnsUnconfirmed = false

    private enum Separator: Equatable {
        case comma, tab, blanks
    }

    private struct Columns {
        let separator: Separator
        /// The 0-based column of the labels.
        let index: Int
        /// The number of columns every line must have.
        let count: Int
        /// The column's name in the header.
        let title: String?
        /// "the header" or "line 1", for messages.
        let origin: String
    }

    /// Column names that hold the labels, in order of preference (compared in lowercase).
    private static let labelColumnNames = ["label", "labels", "class", "target", "y"]

    /// Opens `path` (66 when it cannot be opened; `-` is standard input) and reads its header
    /// (65 when it is bad).
    init(path: String, format: Format, outputWidth: Int, labels: [String]?) throws(CommandFailure) {
        self.path = path
        self.outputWidth = outputWidth
        subject = path == "-" ? "labels on standard input" : "labels file '\(path)'"
        var names: [String: Int] = [:]
        for (index, label) in (labels ?? []).enumerated() { names[label] = index }
        self.names = names
        let file: any ByteSource
        if path == "-" {
            file = FileDescriptorSource()
        } else {
            do {
                file = try FileDescriptorSource(path: path)
            } catch {
                throw CommandFailure(CommandFailure.noInput, "labels file: \(error.message)")
            }
        }
        // The file is read once: what `auto` reads to detect the format is kept and read again
        // when the format is text (a pipe cannot be reopened or rewound).
        let source = ReplayableSource(file)
        var binary: RecordReader?
        if format != .text {
            do {
                let requested: RecordFormat = format == .idx ? .idx : format == .npy ? .npy : .auto
                let reader = try RecordReader(source: source, format: requested, expectedWidth: 1,
                                              options: RecordReaderOptions(bufferSize: 1 << 16))
                try reader.prepare()
                if reader.format == .idx || reader.format == .npy { binary = reader }
            } catch {
                throw Self.failure(error, subject: subject)
            }
        }
        if let binary {
            source.stopKeeping()
            reader = binary
            lines = nil
            declaredCount = binary.declaredRecordCount
        } else {
            // Text (asked for, or found by auto): from the start again, gzip detected anew.
            source.replay()
            reader = nil
            lines = LineReader(source: source, detectsGzip: true, maxLineBytes: 1 << 16)
            declaredCount = nil
        }
        value = .allocate(capacity: 1)
        scratch = .allocate(capacity: 1)
        value.initialize(repeating: 0)
    }

    deinit {
        value.deallocate()
        scratch.deallocate()
    }

    private static func failure(_ error: RecordError, subject: String) -> CommandFailure {
        if error.kind == .wrongWidth {
            return CommandFailure(CommandFailure.dataError,
                "\(subject): labels must be single values (a 1-D IDX or NPY array): \(error.message)")
        }
        return CommandFailure.reading(error, from: subject)
    }

    /// The next label's class index; a data error (65) when the labels end before the
    /// records of `inputName` do.
    func label(forRecordOf inputName: String) throws(CommandFailure) -> Int {
        guard let label = try next() else {
            throw CommandFailure(CommandFailure.dataError,
                "\(subject) ends after \(count) labels, but \(inputName) has more records (record \(count + 1) has no label)")
        }
        return label
    }

    /// The next `count` labels' class indices into `out`, as `count` calls of
    /// ``label(forRecordOf:)`` would give them (the same errors, for the same label), but
    /// binary labels at hand are decoded in one go. O(count).
    func labels(forRecords count: Int, of inputName: String, into out: UnsafeMutablePointer<Int32>) throws(CommandFailure) {
        var done = 0
        if let reader {
            while done < count {
                let run: RecordReader.Run?
                do { run = try reader.nextRun(maxRecords: count - done, targetBytes: 1, mayRead: { true }) } catch {
                    throw Self.failure(error, subject: subject)
                }
                guard let run, run.count > 0 else { break }
                // Every label up to the first that is not plain (the slow path reports it).
                var good = 0
                if reader.runDecoder.recordsAreBytes, run.recordBytes == 1, let base = run.bytes.baseAddress {
                    // Bytes (IDX u8): a byte is its class when below O, as its Float would be.
                    let bytes = base.assumingMemoryBound(to: UInt8.self), classes = outputWidth
                    while good < run.count && Int(bytes[good]) < classes {
                        out[done + good] = Int32(bytes[good])
                        good += 1
                    }
                } else {
                    // Only this path decodes to Float: the scratch grows here, not for byte labels.
                    if run.count > scratch.count {
                        scratch.deallocate()
                        scratch = .allocate(capacity: run.count)
                    }
                    let decoded = reader.runDecoder.decode(run, records: 0..<run.count, into: scratch.baseAddress!)
                    while good < decoded, let index = classIndex(scratch[good]) {
                        out[done + good] = Int32(index)
                        good += 1
                    }
                }
                reader.commit(records: good, bytes: good * run.recordBytes)
                self.count += good
                done += good
                if good < run.count { break }
            }
        }
        while done < count {
            out[done] = Int32(try label(forRecordOf: inputName))
            done += 1
        }
    }

    /// Checks, after the last of `records` records of `inputName`, that no label is left.
    func expectEnd(after records: Int, of inputName: String) throws(CommandFailure) {
        if try next() != nil {
            throw CommandFailure(CommandFailure.dataError, "\(subject) has more labels than the \(records) records of \(inputName)")
        }
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
            throw Self.failure(error, subject: subject)
        }
        let x = value[0]
        guard let index = classIndex(x) else {
            throw CommandFailure(CommandFailure.dataError,
                "\(subject), label \(count + 1): \(x) is not a class index 0...\(outputWidth - 1)")
        }
        return index
    }

    /// A binary label's class: a whole number in `0 ..< O`, else nil. (The range first, which
    /// also turns NaN away, then a truncation back and forth instead of `rounded()`, a libm call
    /// per label: this runs for every label, on the thread between rounds.)
    private func classIndex(_ x: Float) -> Int? {
        guard x >= 0 && x < Float(outputWidth) else { return nil }
        let index = Int(x)
        return Float(index) == x ? index : nil
    }

    // MARK: Text

    private func nextText() throws(CommandFailure) -> Int? {
        while true {
            let found: UnsafeBufferPointer<UInt8>?
            do { found = try lines!.next() } catch { throw Self.failure(error, subject: subject) }
            guard let line = found else { return nil }
            let lineNumber = lines!.lineNumber
            var a = 0, b = line.count
            if lineNumber == 1 && b >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF { a = 3 }
            while a < b && Self.isBlank(line[a]) { a += 1 }
            while b > a && (Self.isBlank(line[b - 1]) || line[b - 1] == 0x0D) { b -= 1 }
            if a == b {
                if blankLine == nil { blankLine = lineNumber }
                continue
            }
            let place = count + 1 == lineNumber ? "label \(count + 1)" : "label \(count + 1) (line \(lineNumber))"
            if let blankLine {
                throw CommandFailure(CommandFailure.dataError,
                    "\(subject), line \(blankLine) is empty (blank lines are accepted only at the end)")
            }
            let token = UnsafeBufferPointer(rebasing: line[a..<b])
            if !firstLineSeen {
                firstLineSeen = true
                guard let label = try firstLine(token, place: place) else { continue }
                return label
            }
            guard let columns else { return try label(token, place: place) }
            // Names first, whole lines first: a name may hold a blank, a tab or a comma.
            if !names.isEmpty, let index = names[String(decoding: token, as: UTF8.self)] { return index }
            let (fieldCount, field) = Self.field(columns.index, of: token, separator: columns.separator)
            if columnsUnconfirmed {
                columnsUnconfirmed = false
                if fieldCount == 1 {
                    self.columns = nil  // a header such as `true label` over lines of one label
                    return try label(token, place: place)
                }
            }
            guard fieldCount == columns.count, let field else {
                let title = columns.title.map { ", '\($0)'" } ?? ""
                throw CommandFailure(CommandFailure.dataError,
                    "\(subject), \(place) has \(fieldCount) column\(fieldCount == 1 ? "" : "s"), but \(columns.origin) has \(columns.count) (labels are read from column \(columns.index + 1)\(title)); give every line the same columns")
            }
            return try label(field, place: place)
        }
    }

    /// Decides what the first line is: a label (returned), a header (skipped: nil), or the
    /// first of lines of several fields (its label returned).
    private func firstLine(_ token: UnsafeBufferPointer<UInt8>, place: String) throws(CommandFailure) -> Int? {
        let bare = Self.unquoted(token)
        if !names.isEmpty, names[String(decoding: bare, as: UTF8.self)] != nil || names[String(decoding: token, as: UTF8.self)] != nil {
            return try label(token, place: place)
        }
        if Self.isNumber(bare) { return try label(token, place: place) }  // a label, or a bad one
        guard let text = Self.text(token) else { return try label(token, place: place) }  // not text: the error
        if let separator = Self.separator(in: token) {
            let fields = Self.fields(of: token, separator: separator)
            if fields.count >= 2 {
                let holdsData = fields.contains { field in
                    Self.isNumber(Self.unquoted(field).utf8) || names[field] != nil || names[Self.unquoted(field)] != nil
                }
                if holdsData {
                    // `17,3`: lines of fields without a header; the labels are the last column.
                    columns = Columns(separator: separator, index: fields.count - 1, count: fields.count,
                                      title: nil, origin: "line 1")
                    let (_, field) = Self.field(fields.count - 1, of: token, separator: separator)
                    return try label(field!, place: place)
                }
                let titles = fields.map { Self.unquoted($0).lowercased() }
                let index = Self.labelColumnNames.lazy.compactMap { titles.firstIndex(of: $0) }.first ?? fields.count - 1
                columns = Columns(separator: separator, index: index, count: fields.count,
                                  title: Self.escaped(Self.unquoted(fields[index])), origin: "the header")
                columnsUnconfirmed = true
            }
        }
        header = Self.escaped(text)
        return nil
    }

    /// The class a label token names: a label name of the model (first), or a whole number
    /// `0 ..< O` (`7`, `7.0`, `7.000000000000000000e+00`). Throws a data error naming it.
    private func label(_ written: UnsafeBufferPointer<UInt8>, place: String) throws(CommandFailure) -> Int {
        if !names.isEmpty, let index = names[String(decoding: written, as: UTF8.self)] { return index }
        let token = Self.unquoted(written)  // as some CSV writers quote: "7"
        if token.count != written.count, !names.isEmpty, let index = names[String(decoding: token, as: UTF8.self)] {
            return index
        }
        var index = 0
        var digits = 0
        for byte in token {
            guard byte >= 0x30 && byte <= 0x39, digits < 18 else { digits = -1; break }
            index = index * 10 + Int(byte - 0x30)
            digits += 1
        }
        if digits > 0 && index < outputWidth { return index }
        let range = "0...\(outputWidth - 1)"
        var what = names.isEmpty ? "is not a class index \(range)"
            : "is neither a class index \(range) nor one of the model's labels"
        if digits < 0, Self.isNumber(token), let x = Double(String(decoding: token, as: UTF8.self)) {
            if x >= 0 && x < Double(outputWidth) && x == x.rounded() { return Int(x) }
            if x.isFinite && x != x.rounded() { what = "is not a whole number (labels are class indices \(range))" }
        }
        throw CommandFailure(CommandFailure.dataError, "\(subject), \(place): '\(Self.escaped(written))' \(what)")
    }

    // MARK: Text helpers

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Whether `token` is a decimal number: `[+-]digits[.digits][(e|E)[+-]digits]`, with digits
    /// on at least one side of the point.
    private static func isNumber<C: Collection>(_ token: C) -> Bool where C.Element == UInt8 {
        var i = token.startIndex
        func digits() -> Int {
            var n = 0
            while i != token.endIndex, token[i] >= 0x30 && token[i] <= 0x39 { i = token.index(after: i); n += 1 }
            return n
        }
        if i != token.endIndex, token[i] == 0x2B || token[i] == 0x2D { i = token.index(after: i) }
        var mantissa = digits()
        if i != token.endIndex, token[i] == 0x2E {
            i = token.index(after: i)
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if i != token.endIndex, token[i] == 0x65 || token[i] == 0x45 {
            i = token.index(after: i)
            if i != token.endIndex, token[i] == 0x2B || token[i] == 0x2D { i = token.index(after: i) }
            guard digits() > 0 else { return false }
        }
        return i == token.endIndex
    }

    /// The line as a string when it is text: valid UTF-8 without control characters but tabs.
    private static func text(_ token: UnsafeBufferPointer<UInt8>) -> String? {
        guard !token.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else { return nil }
        return String(validating: token, as: UTF8.self)
    }

    /// How a line of several fields separates them: commas, else tabs, else blanks; nil for
    /// one field.
    private static func separator(in token: UnsafeBufferPointer<UInt8>) -> Separator? {
        if token.contains(0x2C) { return .comma }
        if token.contains(0x09) { return .tab }
        if token.contains(0x20) { return .blanks }
        return nil
    }

    private static func isSeparator(_ byte: UInt8, _ separator: Separator) -> Bool {
        switch separator {
        case .comma: byte == 0x2C
        case .tab: byte == 0x09
        case .blanks: isBlank(byte)
        }
    }

    /// The number of fields of `token` and field `index` (blanks around it removed), without
    /// allocating. Blank separators: runs of blanks and tabs separate one field from the next.
    private static func field(_ index: Int, of token: UnsafeBufferPointer<UInt8>,
                              separator: Separator) -> (count: Int, field: UnsafeBufferPointer<UInt8>?) {
        var count = 0
        var found: UnsafeBufferPointer<UInt8>?
        var start = 0
        var i = 0
        while true {
            if i == token.count || isSeparator(token[i], separator) {
                if count == index {
                    var a = start, b = i
                    while a < b && isBlank(token[a]) { a += 1 }
                    while b > a && isBlank(token[b - 1]) { b -= 1 }
                    found = UnsafeBufferPointer(rebasing: token[a..<b])
                }
                count += 1
                if i == token.count { break }
                if separator == .blanks { while i + 1 < token.count && isBlank(token[i + 1]) { i += 1 } }
                start = i + 1
            }
            i += 1
        }
        return (count, found)
    }

    /// The fields of a line (blanks around each removed), for the header.
    private static func fields(of token: UnsafeBufferPointer<UInt8>, separator: Separator) -> [String] {
        let count = field(0, of: token, separator: separator).count
        return (0..<count).map { String(decoding: field($0, of: token, separator: separator).field!, as: UTF8.self) }
    }

    private static func unquoted(_ token: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        token.count >= 2 && token.first == 0x22 && token.last == 0x22 ? UnsafeBufferPointer(rebasing: token[1..<(token.count - 1)]) : token
    }

    private static func unquoted(_ field: String) -> String {
        field.count >= 2 && field.hasPrefix("\"") && field.hasSuffix("\"") ? String(field.dropFirst().dropLast()) : field
    }

    /// At most 64 bytes of `token` with control characters escaped: a labels file's bytes must
    /// not reach the terminal raw.
    private static func escaped(_ token: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: OutputFormatter.escapedForText(String(decoding: token.prefix(64), as: UTF8.self)), as: UTF8.self)
    }

    private static func escaped(_ text: String) -> String {
        Array(text.utf8).withUnsafeBufferPointer { escaped($0) }
    }
}

/// A source read once that can deliver its first bytes twice: it keeps what it reads until
/// ``replay()`` (then delivers the kept bytes again before the rest) or ``stopKeeping()``. Format
/// detection reads the start of a pipe, FIFO or standard input this way, which cannot be
/// reopened or rewound. Memory: the bytes read before either call.
final class ReplayableSource: ByteSource {
    private let inner: any ByteSource
    private var kept: [UInt8] = []
    private var keeping = true
    private var position = 0

    init(_ inner: any ByteSource) { self.inner = inner }

    /// From now on, the bytes read so far are delivered again first, then the rest.
    func replay() {
        keeping = false
        position = 0
    }

    /// From now on, bytes pass through; the kept ones are released.
    func stopKeeping() {
        keeping = false
        kept = []
        position = 0
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        if !keeping && position < kept.count {
            let n = min(buffer.count, kept.count - position)
            kept.withUnsafeBytes { bytes in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)]))
            }
            position += n
            if position == kept.count {
                kept = []
                position = 0
            }
            return n
        }
        let n = try inner.read(into: buffer)
        if keeping && n > 0 { kept.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
        return n
    }
}
