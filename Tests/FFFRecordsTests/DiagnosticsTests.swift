import Testing
@testable import FFFRecords

@Suite struct DiagnosticsTests {
    func invalid(_ bytes: [UInt8]) -> Int? { bytes.withUnsafeBufferPointer { Diagnostics.firstInvalidUTF8($0) } }

    @Test func utf8Validation() {
        #expect(invalid(utf8("plain, caf\u{E9}, \u{1F600}")) == nil)
        #expect(invalid([0x41, 0xFF]) == 1)
        #expect(invalid([0x41, 0xC3]) == 1)  // cut short
        #expect(invalid([0xC0, 0x80]) == 0)  // overlong NUL
        #expect(invalid([0xE0, 0x80, 0x80]) == 0)  // overlong
        #expect(invalid([0xED, 0xA0, 0x80]) == 0)  // UTF-16 surrogate
        #expect(invalid([0xF4, 0x90, 0x80, 0x80]) == 0)  // past U+10FFFF
        #expect(invalid([0x31, 0xE2, 0x82, 0x31]) == 1)  // bad continuation
    }

    @Test func quoting() {
        let quote = { (s: String) in Array(s.utf8).withUnsafeBufferPointer { Diagnostics.quote($0) } }
        #expect(quote("abc") == "'abc'")
        #expect(quote("a\tb\u{1}") == "'a\\tb\\u{01}'")
        #expect(quote(String(repeating: "x", count: 50)) == "'" + String(repeating: "x", count: 40) + "...'")
        #expect(Diagnostics.hex([0x00, 0xAB]) == "00 AB")
    }
}
