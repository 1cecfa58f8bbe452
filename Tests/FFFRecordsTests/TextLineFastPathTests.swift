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
