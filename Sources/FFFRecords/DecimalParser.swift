/// Correctly rounded decimal-to-Float conversion straight from bytes in a buffer: the value is
/// the one `Float(String)` gives for the same token, without making a String.
///
/// Method: the token's first 19 significant digits form an integer `m` and the rest a decimal
/// exponent `e`. In Double, `m * 10^e` is within 3 ulps (2^-51 relative) of the exact value;
/// widened by 2^-50 on each side, the interval contains the exact value, and when both ends
/// round to the same Float so does the exact value (rounding is monotonic). Digits beyond the
/// 19th widen the interval to `(m+1) * 10^e`. Only when the ends differ (a token within 2^-50
/// of a Float rounding boundary, about one random token in ten million) does it fall back to
/// `Float(String)`, which allocates.
enum DecimalParser {
    /// 10^0 ... 10^66 as Doubles: exact through 10^22, correctly rounded beyond.
    static let powersOfTen: [Double] = (0...66).map { Double("1e\($0)")! }

    /// Parses the number at `start` (a decimal with optional sign, fraction and exponent, or
    /// `nan`, `inf`, `infinity` in any case with an optional sign) and returns its value and
    /// the first byte after it, or nil when no number starts at `start`. The caller decides
    /// whether the byte after it may end a token. O(token length); allocates only in the rare
    /// fallback described above.
    @inline(__always)
    static func parse(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (value: Float, next: UnsafePointer<UInt8>)? {
        var p = start
        var negative = false
        if p < end && (p.pointee == UInt8(ascii: "-") || p.pointee == UInt8(ascii: "+")) {
            negative = p.pointee == UInt8(ascii: "-")
            p += 1
        }
        let digitsStart = p
        var mantissa: UInt64 = 0
        var significant = 0
        var exponent = 0
        var dropped = false  // a nonzero digit beyond the 19th
        var sawDigit = false
        while p < end {
            let d = p.pointee &- 0x30
            if d > 9 { break }
            sawDigit = true
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                if mantissa != 0 { significant += 1 }
            } else {
                exponent += 1
                if d != 0 { dropped = true }
            }
            p += 1
        }
        if p < end && p.pointee == UInt8(ascii: ".") {
            p += 1
            while p < end {
                let d = p.pointee &- 0x30
                if d > 9 { break }
                sawDigit = true
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    if mantissa != 0 { significant += 1 }
                    exponent -= 1
                } else if d != 0 {
                    dropped = true
                }
                p += 1
            }
        }
        if !sawDigit {
            guard let (word, next) = parseWord(digitsStart, end) else { return nil }
            return (negative ? -word : word, next)
        }
        if p < end && (p.pointee | 0x20) == UInt8(ascii: "e") {
            var q = p + 1
            var exponentNegative = false
            if q < end && (q.pointee == UInt8(ascii: "-") || q.pointee == UInt8(ascii: "+")) {
                exponentNegative = q.pointee == UInt8(ascii: "-")
                q += 1
            }
            guard q < end, q.pointee &- 0x30 <= 9 else { return nil }
            var e = 0
            while q < end {
                let d = q.pointee &- 0x30
                if d > 9 { break }
                if e < 1_000_000 { e = e * 10 + Int(d) }  // saturates far outside Float's range
                q += 1
            }
            exponent += exponentNegative ? -e : e
            p = q
        }
        let magnitude: Float
        if mantissa == 0 {
            magnitude = 0
        } else if exponent == 0 && !dropped {
            magnitude = Float(mantissa)  // one rounding: exact
        } else if exponent < -66 {
            magnitude = 0  // below 10^19 * 10^-67, under half the least subnormal
        } else if exponent > 38 {
            magnitude = .infinity  // at least 10^39
        } else {
            let low = approximate(mantissa, exponent)
            let high = dropped ? approximate(mantissa + 1, exponent) : low
            let lowFloat = Float(low - low * 0x1p-50)
            let highFloat = Float(high + high * 0x1p-50)
            if lowFloat == highFloat {
                magnitude = lowFloat
            } else {
                let text = String(decoding: UnsafeBufferPointer(start: start, count: p - start), as: UTF8.self)
                return (Float(text)!, p)
            }
        }
        return (negative ? -magnitude : magnitude, p)
    }

    /// `m * 10^e` in Double with at most three roundings. Precondition: -66 <= e <= 66.
    @inline(__always)
    private static func approximate(_ m: UInt64, _ e: Int) -> Double {
        e >= 0 ? Double(m) * powersOfTen[e] : Double(m) / powersOfTen[-e]
    }

    /// `inf`, `infinity` or `nan` in any case at `p`.
    private static func parseWord(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> (Float, UnsafePointer<UInt8>)? {
        func matches(_ word: StaticString) -> Bool {
            guard end - p >= word.utf8CodeUnitCount else { return false }
            for i in 0..<word.utf8CodeUnitCount where (p[i] | 0x20) != word.utf8Start[i] { return false }
            return true
        }
        if matches("infinity") { return (.infinity, p + 8) }
        if matches("inf") { return (.infinity, p + 3) }
        if matches("nan") { return (.nan, p + 3) }
        return nil
    }
}
