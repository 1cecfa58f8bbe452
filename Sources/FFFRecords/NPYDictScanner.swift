/// A recursive-descent reader for the header dict literal. Errors give the byte offset in the
/// file.
struct NPYDictScanner {
    let bytes: [UInt8]
    let base: Int
    var i = 0

    init(bytes: [UInt8], base: Int) {
        self.bytes = bytes
        self.base = base
    }

    mutating func parseDict() throws(RecordError) -> [String: NPYValue] {
        var dict: [String: NPYValue] = [:]
        try expect("{")
        while true {
            skipSpace()
            if peek() == UInt8(ascii: "}") { i += 1; break }
            guard case .string(let key) = try parseValue() else { throw failure("a quoted key") }
            try expect(":")
            if dict[key] != nil { throw failure("no repeated key \(Diagnostics.quote(key))") }
            dict[key] = try parseValue()
            skipSpace()
            if peek() == UInt8(ascii: ",") { i += 1; continue }
            try expect("}")
            break
        }
        skipSpace()
        if i != bytes.count { throw failure("only spaces and a newline after the dict") }
        return dict
    }

    private mutating func parseValue() throws(RecordError) -> NPYValue {
        skipSpace()
        guard let c = peek() else { throw failure("a value") }
        switch c {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            i += 1
            let start = i
            while i < bytes.count && bytes[i] != c { i += 1 }
            guard i < bytes.count else { throw failure("a closing quote") }
            i += 1
            return .string(String(decoding: bytes[start..<(i - 1)], as: UTF8.self))
        case UInt8(ascii: "("):
            i += 1
            var items: [Int] = []
            while true {
                skipSpace()
                if peek() == UInt8(ascii: ")") { i += 1; break }
                items.append(try parseInteger())
                skipSpace()
                if peek() == UInt8(ascii: ",") { i += 1; continue }
                try expect(")")
                break
            }
            return .tuple(items)
        case UInt8(ascii: "["):
            // Skip to the matching bracket; only "this is a list" matters.
            var depth = 0
            repeat {
                guard let d = peek() else { throw failure("a closing ']'") }
                if d == UInt8(ascii: "[") { depth += 1 } else if d == UInt8(ascii: "]") { depth -= 1 }
                i += 1
            } while depth > 0
            return .list
        default:
            if matchWord("True") { return .bool(true) }
            if matchWord("False") { return .bool(false) }
            throw failure("a string, True, False or a tuple")
        }
    }

    private mutating func parseInteger() throws(RecordError) -> Int {
        let start = i
        var value = 0
        while let c = peek(), c &- 0x30 <= 9 {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(c - 0x30))
            if o1 || o2 || next > 1 << 48 {  // far beyond any real array
                throw RecordError(.badHeader, "an NPY dimension at byte \(base + start) is too large", byteOffset: base + start)
            }
            value = next
            i += 1
        }
        if i == start { throw failure("a non-negative integer") }
        if peek() == UInt8(ascii: "L") { i += 1 }  // Python 2 long suffix
        return value
    }

    private mutating func matchWord(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard bytes.count - i >= w.count, Array(bytes[i..<(i + w.count)]) == w else { return false }
        i += w.count
        return true
    }

    private mutating func expect(_ c: Character) throws(RecordError) {
        skipSpace()
        guard peek() == c.asciiValue else { throw failure("'\(c)'") }
        i += 1
    }

    private mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D { i += 1 }
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private func failure(_ expected: String) -> RecordError {
        let found = peek().map { $0 >= 0x20 && $0 < 0x7F ? "'\(Character(Unicode.Scalar($0)))'" : "byte 0x\(Diagnostics.hex($0))" } ?? "the end"
        return RecordError(.badHeader, "the NPY header dict is malformed at byte \(base + i): expected \(expected), found \(found)",
                           byteOffset: base + i)
    }
}
