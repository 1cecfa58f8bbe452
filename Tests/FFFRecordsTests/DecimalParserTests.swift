import FFFTestSupport
import Testing
@testable import FFFRecords

/// The parser must give exactly `Float(String)` for every token, and report where it stopped.
@Suite struct DecimalParserTests {
    func parse(_ s: String) -> (Float, Int)? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { b in
            DecimalParser.parse(b.baseAddress!, b.baseAddress! + b.count).map { ($0.value, $0.next - b.baseAddress!) }
        }
    }

    /// The whole token parses, to the same bits as Float(String).
    func expectSameAsSwift(_ s: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let reference = Float(s) else {
            Issue.record("test token '\(s)' is not a Swift Float", sourceLocation: sourceLocation)
            return
        }
        let parsed = parse(s)
        #expect(parsed?.1 == s.utf8.count, "'\(s)' not consumed whole", sourceLocation: sourceLocation)
        if reference.isNaN {
            #expect(parsed?.0.isNaN == true, "'\(s)'", sourceLocation: sourceLocation)
        } else {
            #expect(parsed?.0.bitPattern == reference.bitPattern,
                    "'\(s)': got \(String(describing: parsed?.0)), Swift says \(reference)", sourceLocation: sourceLocation)
        }
    }

    @Test func knownValues() {
        // Bit patterns from the IEEE 754 binary32 encoding, written out independently.
        let cases: [(String, UInt32)] = [
            ("0.1", 0x3DCC_CCCD), ("3.4028235e38", 0x7F7F_FFFF), ("1e-45", 0x0000_0001), ("-0.0", 0x8000_0000),
            ("0", 0), ("1", 0x3F80_0000), ("-1", 0xBF80_0000), ("255", 0x437F_0000), (".5", 0x3F00_0000),
            ("1.", 0x3F80_0000), ("+2.5E+1", 0x41C8_0000), ("1.17549435e-38", 0x0080_0000),
            ("16777217", 0x4B80_0000), // 2^24 + 1: a tie, to even 2^24
            ("16777219", 0x4B80_0002), // 2^24 + 3: a tie, to even 2^24 + 4
            ("1.000000059604644775390625", 0x3F80_0000), // exactly 1 + 2^-24: a tie, to even 1
            ("1.0000000596046447753906251", 0x3F80_0001), // just above the tie
            ("1e39", 0x7F80_0000), ("-1e39", 0xFF80_0000), ("3.4028236e38", 0x7F80_0000),
            ("1e-50", 0), ("-1e-50", 0x8000_0000), ("7e-46", 0), ("7.1e-46", 1),
            ("0.000000000000000000000000000000000000000000000000001e51", 0x3F80_0000),
            ("100000000000000000000000000000000000000e-38", 0x3F80_0000),
            ("inf", 0x7F80_0000), ("-Infinity", 0xFF80_0000), ("+INF", 0x7F80_0000),
            ("1e999999999999", 0x7F80_0000), ("1e-999999999999", 0),
        ]
        for (token, expected) in cases {
            let parsed = parse(token)
            #expect(parsed?.0.bitPattern == expected, "'\(token)' gave \(String(describing: parsed?.0))")
            #expect(parsed?.1 == token.utf8.count, "'\(token)' not consumed whole")
            expectSameAsSwift(token)
        }
        #expect(parse("nan")?.0.isNaN == true)
        #expect(parse("-NaN")?.0.isNaN == true)
    }

    @Test func stopsAtTheEndOfTheNumber() {
        #expect(parse("12,3")?.1 == 2)
        #expect(parse("1.5x")?.1 == 3)
        #expect(parse("infinityx")?.1 == 8)
        #expect(parse("infx")?.1 == 3)
        #expect(parse("1e5 ")?.1 == 3)
    }

    @Test func rejectsNonNumbers() {
        for token in ["", "-", "+", ".", "e5", "abc", "1e", "1e+", "-.e1", "in", "na", " 1", "0x1p3"] {
            let parsed = parse(token)
            // "0x1p3" parses "0" and stops at "x": not a whole token, so not a number to callers.
            if token == "0x1p3" { #expect(parsed?.1 == 1) } else { #expect(parsed == nil, "'\(token)'") }
        }
    }

    @Test func manyDigits() {
        expectSameAsSwift("1.000000000000000000e+00")  // numpy savetxt's default, 19 digits
        expectSameAsSwift("3.141592653589793115997963468544185161590576171875")
        expectSameAsSwift("0." + String(repeating: "0", count: 300) + "1e300")
        expectSameAsSwift(String(repeating: "9", count: 40))
        expectSameAsSwift("12345678901234567890123456789e-20")
        expectSameAsSwift("9999999999999999999")
        expectSameAsSwift("99999999999999999999e-20")
    }

    /// Shortest and exact decimal forms of random Floats of every magnitude round-trip.
    @Test func randomFloatsRoundTrip() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7FFF_FFFF)
            guard f.isFinite, f > 0 else { continue }
            expectSameAsSwift(f.description)
            expectSameAsSwift("-" + f.description)
            expectSameAsSwift(exactDecimal(Double(f)))
        }
    }

    /// Exact midpoints between adjacent Floats (ties) and tokens a hair either side: the hardest
    /// cases for correct rounding, and the ones the fallback exists for.
    @Test func midpointsAndNeighbours() {
        var rng = SplitMix64(seed: 99)
        for i in 0..<3_000 {
            var f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7FFF_FFFF)
            if i < 40 { f = Float(bitPattern: UInt32(i)) }  // subnormals
            guard f.isFinite, f > 0, f.nextUp.isFinite else { continue }
            let mid = (Double(f) + Double(f.nextUp)) / 2  // exact in Double
            let exact = exactDecimal(mid)
            expectSameAsSwift(exact)
            let parts = exact.split(separator: "e")
            expectSameAsSwift("\(parts[0])1e\(Int(parts[1])! - 1)")  // a hair above
            let below = exactDecimal(mid.nextDown)
            expectSameAsSwift(below)
        }
    }

    /// Random decimal strings: digit counts 1...30, any point position, exponents -70...50.
    @Test func randomDecimalStrings() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<50_000 {
            let digits = 1 + Int(rng.next() % 30)
            var s = ""
            for _ in 0..<digits { s += String(rng.next() % 10) }
            let point = Int(rng.next() % UInt64(digits + 1))
            s.insert(".", at: s.index(s.startIndex, offsetBy: point))
            if s == "." { s = "0." }
            if rng.next() % 2 == 0 { s += "e\(Int(rng.next() % 121) - 70)" }
            if rng.next() % 4 == 0 { s = "-" + s }
            expectSameAsSwift(s)
        }
    }
}
