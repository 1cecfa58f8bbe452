import CFFFTextParsing

/// Splits one line of text into numbers, in place, without allocating.
///
/// Blanks (space, carriage return, and tab unless tab is the separator) around tokens are
/// ignored. `.comma` and `.tab` lines have exactly one field between separators, so an empty
/// field is an error; `.whitespace` lines take any run of spaces, tabs and commas as one
/// separator.
enum TextLineParser {
    /// How a line's tokens are separated.
    enum Separator: Sendable, Equatable {
        case comma, tab, whitespace

        /// The separator the first line suggests: a tab makes TSV, else a comma CSV, else
        /// whitespace.
        static func detect(_ line: UnsafeBufferPointer<UInt8>) -> Separator {
            if line.contains(0x09) { return .tab }
            if line.contains(UInt8(ascii: ",")) { return .comma }
            return .whitespace
        }
    }

    /// Why a line could not be parsed; offsets are from the line's start.
    struct Failure: Equatable {
        enum Reason: Equatable { case emptyField, notANumber, nonFinite }
        let reason: Reason
        /// 1-based.
        let column: Int
        let tokenStart: Int
        let tokenEnd: Int
    }

    /// The outcome: the number of values on the line (of which the first `capacity` were
    /// stored), or the first failure.
    enum Outcome: Equatable {
        case values(Int)
        case failure(Failure)
    }

    /// Parses `line`, storing value k (0-based) at `out[k]` while k < `capacity`, and counting
    /// the rest. A NaN or infinite value fails unless `allowNonFinite`. O(line length).
    static func parse(_ line: UnsafeBufferPointer<UInt8>, separator: Separator,
                      into out: UnsafeMutablePointer<Float>, capacity: Int, allowNonFinite: Bool) -> Outcome {
        guard let start = line.baseAddress else { return .values(0) }
        let end = start + line.count
        var p = start
        var column = 0
        switch separator {
        case .whitespace:
            while true {
                while p < end && isWhitespaceSeparator(p.pointee) { p += 1 }
                if p == end { return .values(column) }
                column += 1
                if let (value, next) = DecimalParser.parseSimple(p, end, ends: isWhitespaceSeparator) {
                    if column <= capacity { out[column - 1] = value }
                    p = next
                    continue
                }
                let tokenStart = p
                if let (value, next) = DecimalParser.parse(p, end), next == end || isWhitespaceSeparator(next.pointee) {
                    if !allowNonFinite && !value.isFinite {
                        return .failure(Failure(reason: .nonFinite, column: column, tokenStart: tokenStart - start, tokenEnd: next - start))
                    }
                    if column <= capacity { out[column - 1] = value }
                    p = next
                } else {
                    var q = p
                    while q < end && !isWhitespaceSeparator(q.pointee) { q += 1 }
                    return .failure(Failure(reason: .notANumber, column: column, tokenStart: tokenStart - start, tokenEnd: q - start))
                }
            }
        case .comma, .tab:
            let sep: UInt8 = separator == .comma ? UInt8(ascii: ",") : 0x09
            if let count = parseIntegerLine(start, line.count, sep: sep, into: out, capacity: capacity) {
                return .values(count)
            }
            let tabIsBlank = separator == .comma
            @inline(__always) func isBlank(_ b: UInt8) -> Bool {
                b == 0x20 || b == 0x0D || (tabIsBlank && b == 0x09)
            }
            while true {
                // The common field first: a plain number right before the separator.
                if let (value, next) = DecimalParser.parseSimple(p, end, ends: { $0 == sep }) {
                    column += 1
                    if column <= capacity { out[column - 1] = value }
                    if next == end { return .values(column) }
                    p = next + 1
                    continue
                }
                while p < end && isBlank(p.pointee) { p += 1 }
                column += 1
                let tokenStart = p
                if p == end || p.pointee == sep {
                    return .failure(Failure(reason: .emptyField, column: column, tokenStart: p - start, tokenEnd: p - start))
                }
                var parsed = DecimalParser.parse(p, end)
                if let (_, next) = parsed {
                    var q = next
                    while q < end && isBlank(q.pointee) { q += 1 }
                    if q < end && q.pointee != sep { parsed = nil } else { p = q }
                }
                guard let (value, next) = parsed else {
                    var q = tokenStart
                    while q < end && q.pointee != sep { q += 1 }
                    while q > tokenStart && isBlank(q[-1]) { q -= 1 }
                    return .failure(Failure(reason: .notANumber, column: column, tokenStart: tokenStart - start, tokenEnd: q - start))
                }
                if !allowNonFinite && !value.isFinite {
                    return .failure(Failure(reason: .nonFinite, column: column, tokenStart: tokenStart - start, tokenEnd: next - start))
                }
                if column <= capacity { out[column - 1] = value }
                if p == end { return .values(column) }
                p += 1  // the separator
            }
        }
    }

    /// The commonest CSV/TSV line, fast: fields of 1 to 8 plain digits separated by exactly
    /// `sep` (a `\r` may end the line), as integer pixel or count exports are. Returns the
    /// number of fields (the first `capacity` stored at `out`), or nil for any other line, which
    /// ``parse(_:separator:into:capacity:allowNonFinite:)`` then reads: for the lines this
    /// accepts, that gives the same values (integers below 10^8, each rounded once).
    ///
    /// With AVX2, `fff_parse_digit_fields_avx2` (8 fields side by side: `fffrun classify` of
    /// 1 M MNIST CSV records with one thread took 4.72 s with the portable path and 2.53 s with
    /// it), else ``parseIntegerLinePortable(_:_:sep:into:capacity:)``. O(line length).
    @inline(__always)
    static func parseIntegerLine(_ start: UnsafePointer<UInt8>, _ count: Int, sep: UInt8,
                                 into out: UnsafeMutablePointer<Float>, capacity: Int) -> Int? {
        if hasAVX2 {
            let fields = fff_parse_digit_fields_avx2(start, Int64(count), sep, out, Int64(capacity))
            return fields >= 0 ? Int(fields) : nil
        }
        return parseIntegerLinePortable(start, count, sep: sep, into: out, capacity: capacity)
    }

    /// Whether ``parseIntegerLine(_:_:sep:into:capacity:)`` takes the AVX2 path.
    static let hasAVX2 = fff_text_has_avx2() != 0

    /// ``parseIntegerLine(_:_:sep:into:capacity:)`` on any CPU (`fff_parse_digit_fields`):
    /// separators found 8 bytes at a time, each field converted from the 8 bytes that end at
    /// its separator, so that no load waits for the length of the field before it.
    @inline(__always)
    static func parseIntegerLinePortable(_ start: UnsafePointer<UInt8>, _ count: Int, sep: UInt8,
                                         into out: UnsafeMutablePointer<Float>, capacity: Int) -> Int? {
        let fields = fff_parse_digit_fields(start, Int64(count), sep, out, Int64(capacity))
        return fields >= 0 ? Int(fields) : nil
    }

    /// The tokens of `line` as offset ranges, for header detection and diagnostics (allocates).
    static func tokens(_ line: UnsafeBufferPointer<UInt8>, separator: Separator) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var i = 0
        let n = line.count
        switch separator {
        case .whitespace:
            while i < n {
                while i < n && isWhitespaceSeparator(line[i]) { i += 1 }
                if i == n { break }
                let s = i
                while i < n && !isWhitespaceSeparator(line[i]) { i += 1 }
                result.append(s..<i)
            }
        case .comma, .tab:
            let sep: UInt8 = separator == .comma ? UInt8(ascii: ",") : 0x09
            func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0D || (sep == UInt8(ascii: ",") && b == 0x09) }
            var s = 0
            while true {
                var e = s
                while e < n && line[e] != sep { e += 1 }
                var a = s, b = e
                while a < b && isBlank(line[a]) { a += 1 }
                while b > a && isBlank(line[b - 1]) { b -= 1 }
                result.append(a..<b)
                if e == n { break }
                s = e + 1
            }
        }
        return result
    }

    /// Whether every token of `line` fails to parse as a number (and there is one): the
    /// `.auto` header rule.
    static func isHeader(_ line: UnsafeBufferPointer<UInt8>, separator: Separator) -> Bool {
        let tokens = tokens(line, separator: separator).filter { !$0.isEmpty }
        guard !tokens.isEmpty, let base = line.baseAddress else { return false }
        return tokens.allSatisfy { r in
            guard let (_, next) = DecimalParser.parse(base + r.lowerBound, base + r.upperBound) else { return true }
            return next != base + r.upperBound
        }
    }

    /// How a first line of column numbers looks, as pandas' `to_csv` writes one.
    enum ColumnNumbers: Equatable {
        /// `0,1,...,W-1` or `1,2,...,W`: `to_csv(index=False)`.
        case plain
        /// `,0,1,...,W-1`: `to_csv()` with its row index, whose records then start with it.
        case afterRowIndex
    }

    /// Whether `line` numbers the columns of `width`-value records (`0,1,...,W-1`, or from 1),
    /// plain digits only, possibly after an empty first field: a header that reads as numbers.
    /// Only for records of at least ``minimumNumberedWidth`` values: `0,1` or `1,2,3` are
    /// plausible data, while a record that counts 0 to 7 is not. O(line length).
    static let minimumNumberedWidth = 8

    static func columnNumbers(_ line: UnsafeBufferPointer<UInt8>, separator: Separator, width: Int) -> ColumnNumbers? {
        var fields = tokens(line, separator: separator)
        var kind = ColumnNumbers.plain
        if separator != .whitespace, fields.count == width + 1, fields.first?.isEmpty == true {
            fields.removeFirst()
            kind = .afterRowIndex
        }
        guard fields.count == width, width >= minimumNumberedWidth else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            guard !r.isEmpty, r.count <= 9, line[r].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            return line[r].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard let first = number(fields[0]), first == 0 || first == 1 else { return nil }
        for (k, field) in fields.enumerated() where number(field) != first + k { return nil }
        return kind
    }

    /// Whether the line holds only spaces, tabs and carriage returns.
    static func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }

    /// Whether the line's first non-blank byte is `#`.
    static func isComment(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.first { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0D) } == UInt8(ascii: "#")
    }

    @inline(__always)
    static func isWhitespaceSeparator(_ b: UInt8) -> Bool {
        b == 0x20 || b == 0x09 || b == UInt8(ascii: ",") || b == 0x0D
    }

    /// Throws `.nulByte` or `.invalidUTF8` for a line that is not text. `place` begins the
    /// message ("record 3 (line 4)"); `hint` ends it.
    static func checkIsText(_ line: UnsafeBufferPointer<UInt8>, offset: Int, place: String,
                            recordNumber: Int?, hint: String) throws(RecordError) {
        if let nul = line.firstIndex(of: 0) {
            throw RecordError(.nulByte, "\(place) holds a NUL byte at byte \(offset + nul)\(hint)",
                              recordNumber: recordNumber, byteOffset: offset + nul)
        }
        if let bad = Diagnostics.firstInvalidUTF8(line) {
            throw RecordError(.invalidUTF8, "\(place) is not valid UTF-8 at byte \(offset + bad)\(hint)",
                              recordNumber: recordNumber, byteOffset: offset + bad)
        }
    }

    /// The error for `failure` in `line`, which starts at stream offset `offset`. `place`
    /// begins the message ("record 3 (line 4)"); `hint` ends NUL and UTF-8 messages.
    static func error(for failure: Failure, in line: UnsafeBufferPointer<UInt8>, offset: Int, place: String,
                      recordNumber: Int?, hint: String) -> RecordError {
        let token = UnsafeBufferPointer(rebasing: line[failure.tokenStart..<failure.tokenEnd])
        let at = offset + failure.tokenStart
        func error(_ kind: RecordError.Kind, _ text: String, _ byte: Int = at) -> RecordError {
            RecordError(kind, "\(place), column \(failure.column): \(text)", recordNumber: recordNumber,
                        column: failure.column, byteOffset: byte)
        }
        switch failure.reason {
        case .emptyField:
            return error(.notANumber, "the field is empty")
        case .nonFinite:
            if token.contains(where: { $0 &- 0x30 <= 9 }) {  // digits, not inf/nan: an overflow
                return error(.nonFinite, "\(Diagnostics.quote(token)) is beyond the Float range (allowNonFinite is off)")
            }
            return error(.nonFinite, "\(Diagnostics.quote(token)) is not finite (allowNonFinite is off)")
        case .notANumber:
            if let nul = token.firstIndex(of: 0) {
                return error(.nulByte, "NUL byte in text at byte \(at + nul)\(hint)", at + nul)
            }
            if let bad = Diagnostics.firstInvalidUTF8(token) {
                return error(.invalidUTF8, "invalid UTF-8 at byte \(at + bad)\(hint)", at + bad)
            }
            return error(.notANumber, "\(Diagnostics.quote(token)) is not a number")
        }
    }
}
