/// The types of the model card's listed keys (spec/FORMAT.md, `CARD`). Every value is a UTF-8
/// string; a listed key's value must also be of its type, otherwise the file is
/// `invalid-value`. Keys not listed are allowed, untyped.
public enum CardValueType: String, Sendable, CaseIterable {
    /// 1 ... 1024 bytes, no control character (U+0000 ... U+001F, U+007F).
    case line
    /// 1 ... 65536 bytes, no control character except tab and line feed.
    case text
    /// An SPDX license expression (1 ... 1024 bytes), by the grammar the spec gives.
    case spdx
    /// 1 ... 2048 printable ASCII bytes (0x21 ... 0x7E): a scheme, `:`, then at least one byte.
    case url
    /// Exactly 64 lowercase hexadecimal digits.
    case sha256
    /// `YYYY-MM-DD` (RFC 3339 full-date), a real Gregorian date, year 0001 ... 9999.
    case date
    /// A JSON number (RFC 8259 §6) whose nearest float64 is finite.
    case number

    /// The listed keys and their types, in the spec's order (`metrics.<name>` apart).
    public static let listedKeys: [(key: String, type: CardValueType)] = [
        ("name", .line), ("version", .line), ("description", .text), ("author", .line),
        ("license", .spdx), ("source.url", .url), ("source.sha256", .sha256), ("dataset", .line),
        ("date", .date), ("intended_use", .text), ("limitations", .text),
    ]

    /// The type a card key's value must have: a listed key's, `.number` for `metrics.` followed
    /// by at least one byte, `nil` for any other key (allowed, untyped).
    /// - Complexity: O(1) (a dozen comparisons).
    public static func of(key: String) -> CardValueType? {
        if key.utf8.count > 8, key.hasPrefix("metrics.") { return .number }
        return listedKeys.first(where: { $0.key == key })?.type
    }

    /// Why `value` is not of this type, in words, or `nil` when it is.
    /// - Complexity: O(value length).
    public func problem(with value: String) -> String? {
        let bytes = Array(value.utf8)
        switch self {
        case .line:
            return Self.checkLength(bytes, 1 ... 1024) ?? Self.controlProblem(bytes, allowing: [])
        case .text:
            return Self.checkLength(bytes, 1 ... 65536) ?? Self.controlProblem(bytes, allowing: [0x09, 0x0A])
        case .spdx:
            return Self.checkLength(bytes, 1 ... 1024) ?? SPDXExpression.problem(bytes)
        case .url:
            if let problem = Self.checkLength(bytes, 1 ... 2048) { return problem }
            if let k = bytes.firstIndex(where: { $0 < 0x21 || $0 > 0x7E }) {
                return "byte \(k) is \(hex(bytes[k])); a URL here is printable ASCII without spaces"
            }
            guard let first = bytes.first, isLetter(first) else {
                return "it does not start with a scheme letter (a URL is scheme:rest, e.g. https://...)"
            }
            guard let colon = bytes.firstIndex(of: 0x3A) else { return "it has no ':' after a scheme" }
            if let bad = bytes[..<colon].first(where: { !(isLetter($0) || isDigit($0) || $0 == 0x2B || $0 == 0x2E || $0 == 0x2D) }) {
                return "its scheme holds \(hex(bad)); a scheme is a letter then letters, digits, '+', '.' or '-'"
            }
            if colon == bytes.count - 1 { return "nothing follows the scheme's ':'" }
            return nil
        case .sha256:
            if bytes.count != 64 { return "it is \(bytes.count) bytes; a SHA-256 is 64 hexadecimal digits" }
            if let bad = bytes.first(where: { !(isDigit($0) || ($0 >= 0x61 && $0 <= 0x66)) }) {
                return "it holds \(hex(bad)); a SHA-256 here is 64 lowercase hexadecimal digits (0-9, a-f)"
            }
            return nil
        case .date:
            return Self.dateProblem(bytes)
        case .number:
            return Self.numberProblem(bytes, text: value)
        }
    }

    private static func checkLength(_ bytes: [UInt8], _ range: ClosedRange<Int>) -> String? {
        range.contains(bytes.count) ? nil : "it is \(bytes.count) bytes; it must be \(range.lowerBound) ... \(range.upperBound)"
    }

    /// UTF-8 bytes below 0x80 are the code points themselves, so checking bytes suffices.
    private static func controlProblem(_ bytes: [UInt8], allowing allowed: Set<UInt8>) -> String? {
        guard let k = bytes.firstIndex(where: { ($0 < 0x20 || $0 == 0x7F) && !allowed.contains($0) }) else { return nil }
        return "byte \(k) is the control character \(hex(bytes[k]))" + (allowed.isEmpty ? "; a one-line value has none" : "; only tab and line feed are allowed")
    }

    private static func dateProblem(_ b: [UInt8]) -> String? {
        let shape = "a date is YYYY-MM-DD"
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D,
              [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ isDigit(b[$0]) }) else { return "it is not of the form YYYY-MM-DD" }
        func number(_ range: Range<Int>) -> Int { range.reduce(0) { $0 * 10 + Int(b[$1] - 0x30) } }
        let year = number(0..<4), month = number(5..<7), day = number(8..<10)
        if year < 1 { return "year 0000 is outside 0001 ... 9999; \(shape)" }
        guard (1...12).contains(month) else { return "month \(month) does not exist; \(shape)" }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard (1...days).contains(day) else { return "day \(day) does not exist in month \(month) of \(year)" }
        return nil
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, finite as a float64.
    private static func numberProblem(_ b: [UInt8], text: String) -> String? {
        let grammar = "it is not a JSON number (e.g. 0.9822, -3, 1e-5)"
        var i = 0
        func digits() -> Int {
            let start = i
            while i < b.count, isDigit(b[i]) { i += 1 }
            return i - start
        }
        if i < b.count, b[i] == 0x2D { i += 1 }
        guard i < b.count, isDigit(b[i]) else { return grammar }
        if b[i] == 0x30 { i += 1 } else { _ = digits() }
        if i < b.count, b[i] == 0x2E {
            i += 1
            guard digits() > 0 else { return grammar }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            guard digits() > 0 else { return grammar }
        }
        guard i == b.count else { return grammar }
        guard let value = Double(text), value.isFinite else { return "it is beyond float64's range (not finite)" }
        return nil
    }
}

func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }
