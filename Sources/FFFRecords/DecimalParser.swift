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

    /// The common tokens, fast: `[-]D` or `[-]D.D` with at most 18 digits in all and no
    /// exponent, directly followed by a byte for which `ends` holds or by `end`. Returns the
    /// same value as ``parse(_:_:)`` (both are correctly rounded) and the byte after the token,
    /// or nil for any other token (the caller then takes ``parse(_:_:)`` from the same start).
    /// O(token length); never allocates.
    @inline(__always)
    static func parseSimple(_ start: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>,
                            ends: (UInt8) -> Bool) -> (value: Float, next: UnsafePointer<UInt8>)? {
        var p = start
        guard p < end else { return nil }
        let negative = p.pointee == UInt8(ascii: "-")
        if negative { p += 1 }
        if end - p >= 8 {
            // Up to 7 digits and the byte after them from one 8-byte load, without a branch per
            // digit: most fields of a CSV export (pixels, counts) end here.
            let word = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
            let (count, value) = swarDigits(word)
            if count > 0 && count < 8 {
                let after = p[count]
                if ends(after) || (p + count == end) {
                    let magnitude = Float(value)
                    return (negative ? -magnitude : magnitude, p + count)
                }
            }
        }
        let digitsStart = p
        var mantissa: UInt64 = 0
        while p < end {
            let d = p.pointee &- 0x30
            if d > 9 { break }
            mantissa = mantissa &* 10 &+ UInt64(d)
            p += 1
        }
        var digits = p - digitsStart
        guard digits > 0 else { return nil }
        var fraction = 0
        if p < end && p.pointee == UInt8(ascii: ".") {
            p += 1
            let fractionStart = p
            while p < end {
                let d = p.pointee &- 0x30
                if d > 9 { break }
                mantissa = mantissa &* 10 &+ UInt64(d)
                p += 1
            }
            fraction = p - fractionStart
            digits += fraction
        }
        guard digits <= 18, p == end || ends(p.pointee) else { return nil }
        let magnitude: Float
        if fraction == 0 {
            magnitude = Float(mantissa)  // one rounding: exact
        } else {
            // As in `parse`: within 3 ulps in Double, widened by 2^-50; both ends must agree.
            let value = Double(mantissa) / powersOfTen[fraction]
            let low = Float(value - value * 0x1p-50), high = Float(value + value * 0x1p-50)
            guard low == high else { return nil }
            magnitude = low
        }
        return (negative ? -magnitude : magnitude, p)
    }

    /// The number of decimal digits that `word` (8 bytes, the first in its low byte) starts
    /// with, 0 ... 8, and their value when there are fewer than 8 (else unspecified).
    @inline(__always)
    static func swarDigits(_ word: UInt64) -> (count: Int, value: UInt64) {
        let x = word ^ 0x3030_3030_3030_3030  // digit bytes become 0 ... 9
        // A byte's top bit set: not a digit (x >= 10). A carry out of a non-digit byte can only
        // disturb the bytes above it, so the lowest flagged byte is right.
        let flags = ((x &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080
        let count = flags.trailingZeroBitCount >> 3
        if count == 0 || count == 8 { return (count, 0) }
        // The digits at the top, the first highest; leading zero bytes read as leading zeros.
        var y = x << UInt64(64 - 8 * count)
        y = (y &* 10 &+ (y >> 8)) & 0x00FF_00FF_00FF_00FF
        y = (y &* 100 &+ (y >> 16)) & 0x0000_FFFF_0000_FFFF
        y = (y &* 10000 &+ (y >> 32)) & 0xFFFF_FFFF
        return (count, y)
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
