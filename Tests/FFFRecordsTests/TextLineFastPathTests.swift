import Testing
@testable import FFFRecords

/// The fast paths of text parsing (whole lines of plain integer fields, plain numbers) against
/// `Float(String)` of each token, and against the slow path's failures, on lines built to hit
/// every field length, position and ending.
@Suite struct TextLineFastPathTests {
    private func parse(_ line: String, _ separator: TextLineParser.Separator, width: Int) -> (TextLineParser.Outcome, [Float]) {
        var out = [Float](repeating: -99, count: width)
        let bytes = Array(line.utf8)
        let outcome = bytes.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                TextLineParser.parse(b, separator: separator, into: o.baseAddress!, capacity: width, allowNonFinite: false)
            }
        }
        return (outcome, out)
    }

    @Test func integerLinesGiveTheValuesOfFloatString() {
        var state: UInt64 = 12345
        func next(_ n: UInt64) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % n)
        }
        for trial in 0..<3000 {
            let width = 1 + next(40)
            let separator: TextLineParser.Separator = trial % 3 == 0 ? .tab : .comma
            let sep = separator == .tab ? "\t" : ","
            var tokens: [String] = []
            for _ in 0..<width {
                let digits = 1 + next(trial % 7 == 0 ? 12 : 9)
                var token = (0..<digits).map { _ in String(next(10)) }.joined()
                if next(40) == 0 { token = "-" + token }
                if next(60) == 0 { token += "." + String(next(1000)) }
                if next(80) == 0 { token = " " + token + " " }
                tokens.append(token)
            }
            let ending = trial % 4 == 1 ? "\r" : ""
            let line = tokens.joined(separator: sep) + ending
            let (outcome, out) = parse(line, separator, width: width)
            #expect(outcome == .values(width), "\(line)")
            for (k, token) in tokens.enumerated() {
                let expected = Float(token.trimmingBlanks())!
                #expect(out[k].bitPattern == expected.bitPattern, "\(line): field \(k + 1) '\(token)'")
            }
        }
    }

    /// The AVX2 path (which `parse` takes on this CPU) against the portable one, on random
    /// lines of every length, plain and broken (empty, long or signed fields, blanks, doubled
    /// separators, a stray `\r`), with capacities below and above the field count: the same
    /// answer, the same values bit for bit, and nothing written past the capacity.
    @Test(.enabled(if: TextLineParser.hasAVX2, "this CPU has no AVX2: only the portable path exists here"))
    func avx2PathMatchesThePortablePath() {
        var state: UInt64 = 987_654_321
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let breakers: [[UInt8]] = [[], Array("x".utf8), Array(" ".utf8), Array("-".utf8), Array(".".utf8),
                                   Array("\r".utf8), Array(",".utf8), Array("\t".utf8), Array("123456789".utf8)]
        var accepted = 0, refused = 0
        for trial in 0..<6000 {
            let sep: UInt8 = trial % 4 == 0 ? 0x09 : UInt8(ascii: ",")
            let fields = 1 + next(trial % 3 == 0 ? 300 : 40)
            let longest = trial % 5 == 0 ? 3 : 8
            var line: [UInt8] = []
            for k in 0..<fields {
                if k > 0 { line.append(sep) }
                for _ in 0..<(1 + next(longest)) { line.append(UInt8(ascii: "0") + UInt8(next(10))) }
            }
            // Half the lines get one flaw somewhere.
            if trial % 2 == 1 {
                let flaw = breakers[next(breakers.count)]
                let at = next(line.count + 1)
                if flaw.isEmpty, let comma = line.indices.filter({ line[$0] == sep }).first {
                    line.insert(sep, at: comma)  // an empty field
                } else {
                    line.insert(contentsOf: flaw, at: at)
                }
            }
            if trial % 7 == 3 { line.append(0x0D) }
            let capacity = trial % 6 == 0 ? next(fields + 1) : fields + next(3)
            let guardCount = 16
            var fast = [Float](repeating: -1, count: capacity + guardCount)
            var portable = [Float](repeating: -1, count: capacity + guardCount)
            let (a, b) = line.withUnsafeBufferPointer { l in
                (fast.withUnsafeMutableBufferPointer {
                    TextLineParser.parseIntegerLine(l.baseAddress!, l.count, sep: sep, into: $0.baseAddress!, capacity: capacity)
                 },
                 portable.withUnsafeMutableBufferPointer {
                    TextLineParser.parseIntegerLinePortable(l.baseAddress!, l.count, sep: sep, into: $0.baseAddress!, capacity: capacity)
                 })
            }
            let text = String(decoding: line, as: UTF8.self)
            #expect(a == b, "\(text)")
            if let a, a == b {
                accepted += 1
                let stored = min(a, capacity)
                #expect(fast[..<stored].map(\.bitPattern) == portable[..<stored].map(\.bitPattern), "\(text)")
            } else {
                refused += 1
            }
            #expect(fast[capacity...].allSatisfy { $0 == -1 }, "written past the capacity: \(text)")
        }
        // Both kinds were met often (the flaws above do not always break a line: "123456789" is
        // a long field, and a '\r' at the very end is allowed).
        #expect(accepted > 2000 && refused > 1500, "accepted \(accepted), refused \(refused)")
    }

    @Test func irregularLinesFailAsBefore() {
        let width = 12
        let good = (0..<width).map { String($0 * 37 % 1000) }
        let all: String = good.joined(separator: ",")
        let head5: String = good.prefix(5).joined(separator: ",")
        let head9: String = good.prefix(9).joined(separator: ",")
        let head3: String = good.prefix(3).joined(separator: ",")
        let tail2: String = good.suffix(2).joined(separator: ",")
        let tail8: String = good.suffix(8).joined(separator: ",")
        let rest: String = good.dropFirst().joined(separator: ",")
        let cases: [(String, Int)] = [
            (all + ",", width + 1),  // trailing separator: an empty field
            ("," + rest, 1),
            (head5 + ",,", 6),
            (head9 + ",12x4," + tail2, 10),
            (head3 + ",1e," + tail8, 4),
        ]
        for (line, column) in cases {
            let (outcome, _) = parse(line, .comma, width: width)
            guard case .failure(let failure) = outcome else {
                Issue.record("\(line) parsed as \(outcome)")
                continue
            }
            #expect(failure.column == column, "\(line)")
        }
        // In a line long enough for the 64-byte blocks, a bad or empty field at every column
        // (the first 8 bytes, the blocks, the words after them, the last field) is found there.
        let wide = (0..<90).map { String($0 * 37 % 1000) }
        for column in 1...wide.count {
            for bad in ["12x", "", " ", "1.5e", "+-1"] {
                var tokens = wide
                tokens[column - 1] = bad
                let (outcome, _) = parse(tokens.joined(separator: ","), .comma, width: wide.count)
                guard case .failure(let failure) = outcome else {
                    Issue.record("'\(bad)' at column \(column) parsed as \(outcome)")
                    continue
                }
                #expect(failure.column == column, "'\(bad)' at column \(column)")
            }
            // A field the fast path does not take (9 digits) anywhere: the slow path's value.
            var tokens = wide
            tokens[column - 1] = "123456789"
            let (outcome, out) = parse(tokens.joined(separator: ","), .comma, width: wide.count)
            #expect(outcome == .values(wide.count))
            #expect(out[column - 1] == Float(Int32(123_456_789)) && out[(column) % wide.count] == Float(tokens[column % wide.count]))
        }
        // More values than the width: counted, the first `width` stored.
        let long = (0..<30).map { String($0) }.joined(separator: ",")
        let (outcome, out) = parse(long, .comma, width: width)
        #expect(outcome == .values(30))
        #expect(out == (0..<width).map { Float($0) })
    }
}

private extension String {
    func trimmingBlanks() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
