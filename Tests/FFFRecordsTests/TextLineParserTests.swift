import Testing
@testable import FFFRecords

@Suite struct TextLineParserTests {
    func parse(_ s: String, _ sep: TextLineParser.Separator, capacity: Int = 8, allowNonFinite: Bool = false)
        -> (TextLineParser.Outcome, [Float]) {
        var out = [Float](repeating: -7, count: capacity)
        let bytes = Array(s.utf8)
        let outcome = bytes.withUnsafeBufferPointer { line in
            out.withUnsafeMutableBufferPointer { o in
                TextLineParser.parse(line, separator: sep, into: o.baseAddress!, capacity: capacity, allowNonFinite: allowNonFinite)
            }
        }
        return (outcome, out)
    }

    @Test func separators() {
        #expect(parse(" 1, 2 ,3\r", .comma, capacity: 3) == (.values(3), [1, 2, 3]))
        #expect(parse("1\t 2\t3", .tab, capacity: 3) == (.values(3), [1, 2, 3]))
        #expect(parse("  1 2,\t,3  ", .whitespace, capacity: 3) == (.values(3), [1, 2, 3]))
        // Values past the capacity are counted, not stored.
        #expect(parse("1,2,3,4,5", .comma, capacity: 2) == (.values(5), [1, 2]))
        #expect(parse("", .whitespace, capacity: 1) == (.values(0), [-7]))
    }

    @Test func failuresNameTheColumnAndToken() {
        let f = TextLineParser.Failure.self
        #expect(parse("1,,3", .comma).0 == .failure(f.init(reason: .emptyField, column: 2, tokenStart: 2, tokenEnd: 2)))
        #expect(parse("1,2,", .comma).0 == .failure(f.init(reason: .emptyField, column: 3, tokenStart: 4, tokenEnd: 4)))
        #expect(parse("1, abc ,3", .comma).0 == .failure(f.init(reason: .notANumber, column: 2, tokenStart: 3, tokenEnd: 6)))
        #expect(parse("1,2 3", .comma).0 == .failure(f.init(reason: .notANumber, column: 2, tokenStart: 2, tokenEnd: 5)))
        #expect(parse("1 2x 3", .whitespace).0 == .failure(f.init(reason: .notANumber, column: 2, tokenStart: 2, tokenEnd: 4)))
        #expect(parse("1\tnan", .tab).0 == .failure(f.init(reason: .nonFinite, column: 2, tokenStart: 2, tokenEnd: 5)))
        #expect(parse("-inf 2", .whitespace, allowNonFinite: true).0 == .values(2))
    }

    @Test func headerRule() {
        func header(_ s: String, _ sep: TextLineParser.Separator = .comma) -> Bool {
            Array(s.utf8).withUnsafeBufferPointer { TextLineParser.isHeader($0, separator: sep) }
        }
        #expect(header("x0,x1,x2"))
        #expect(header("label, pixel0"))
        #expect(!header("1,x,3"))
        #expect(!header("0,1,2"))  // numeric column names cannot be told from data
        #expect(!header("nan,inf"))  // numbers too
        #expect(header("a b", .whitespace))
    }

    @Test func separatorDetection() {
        func detect(_ s: String) -> TextLineParser.Separator {
            Array(s.utf8).withUnsafeBufferPointer { TextLineParser.Separator.detect($0) }
        }
        #expect(detect("1\t2,3") == .tab)
        #expect(detect("1, 2") == .comma)
        #expect(detect("1 2") == .whitespace)
    }
}
