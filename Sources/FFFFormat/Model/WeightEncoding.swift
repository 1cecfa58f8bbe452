/// Which elements of a weight tensor form a row (the weights feeding one output unit): element
/// `(a * reduced + b) * inner + c` belongs to row `a * inner + c`. `NODW [N][I]` is
/// `(N, I, 1)`, `LFW1 [L][I][H]` is `(L, I, H)`, `LFW2 [L][H][O]` is `(L, H, O)`, `MSW1 [I][M]`
/// is `(1, I, M)` and `MSW2 [M][O]` is `(1, M, O)`.
struct RowLayout: Equatable {
    let outer: Int
    let reduced: Int
    let inner: Int

    var rows: Int { outer * inner }
    var count: Int { outer * reduced * inner }

    /// The tensor's rows for the model's widths.
    static func of(_ tensor: WeightTensor, input: Int, output: Int, depth: Int, leafWidth: Int, masterWidth: Int) -> RowLayout {
        let leaves = 1 << depth
        switch tensor {
        case .nodes: return RowLayout(outer: leaves - 1, reduced: input, inner: 1)
        case .leafHidden: return RowLayout(outer: leaves, reduced: input, inner: leafWidth)
        case .leafOutput: return RowLayout(outer: leaves, reduced: leafWidth, inner: output)
        case .masterHidden: return RowLayout(outer: 1, reduced: input, inner: masterWidth)
        case .masterOutput: return RowLayout(outer: 1, reduced: masterWidth, inner: output)
        }
    }
}

/// The element encodings of format 1.1 (float16, bfloat16, int8-row) and the writer's rounding
/// rules, which are deterministic so that every writer produces the same bytes.
enum WeightEncoding {
    // MARK: - float16

    /// The binary16 nearest to `x`, ties to even (an overflow gives infinity, a NaN a NaN).
    static func float16Bits(_ x: Float) -> UInt16 {
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        return Float16(x).bitPattern
        #else
        return float16BitsPortable(x)
        #endif
    }

    /// `float16Bits` by bit arithmetic, for platforms without `Float16` (tested against it).
    static func float16BitsPortable(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (mantissa == 0 ? 0 : 0x200 | UInt16(truncatingIfNeeded: mantissa >> 13))
        }
        if exponent == 0 { return sign }  // float32 subnormals are far below half of binary16's least
        let e = exponent - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e >= 1 {
            var h = UInt32(e) << 10 | mantissa >> 13
            let rest = mantissa & 0x1FFF
            if rest > 0x1000 || (rest == 0x1000 && h & 1 == 1) { h += 1 }  // may carry to infinity
            return sign | UInt16(h)
        }
        // A binary16 subnormal: the value is (mantissa | 2^23) * 2^(exponent - 150); its units of
        // 2^-24 are that shifted right by 126 - exponent.
        let shift = 126 - exponent
        if shift > 25 { return sign }
        let full = UInt64(mantissa | 0x80_0000)
        var h = full >> UInt64(shift)
        let rest = full & ((1 << UInt64(shift)) - 1)
        let half = UInt64(1) << UInt64(shift - 1)
        if rest > half || (rest == half && h & 1 == 1) { h += 1 }
        return sign | UInt16(h)
    }

    /// The value of a binary16 (exact).
    static func float(float16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
        }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }

    // MARK: - bfloat16

    /// The bfloat16 nearest to a finite `x`, ties to even on the bit pattern:
    /// `(bits + 0x7FFF + ((bits >> 16) & 1)) >> 16`.
    static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// The value of a bfloat16 (exact).
    static func float(bfloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Whether a 2-byte element's exponent bits are all ones (an infinity or a NaN).
    static func isNonFinite(_ bits: UInt16, _ type: ElementType) -> Bool {
        type == .float16 ? bits & 0x7C00 == 0x7C00 : bits & 0x7F80 == 0x7F80
    }

    // MARK: - int8-row

    /// `scale * q`, the exact value rounded once to float32.
    @inline(__always)
    static func dequantize(scale: Float, q: Int8) -> Float {
        Float(Double(scale) * Double(q))
    }

    // MARK: - Encoding a tensor

    /// A tensor as a writer stores it: the values it decodes to (rounded to float32), and for
    /// int8-row the row scales and `q`.
    struct Encoded {
        var values: [Float]
        var scales: [Float] = []
        var q: [Int8] = []
    }

    /// Encodes finite `values` as `type` by the writer rules of format 1.1.
    /// - Throws: `invalid-value` when a value cannot be stored: a non-finite value, a float16 or
    ///   bfloat16 overflow, a row whose largest magnitude is too small for a nonzero float32
    ///   scale.
    static func encode(_ values: [Float], as type: ElementType, layout: RowLayout, what: String) throws(FFFError) -> Encoded {
        // Float32 decoded values of an int8-row tensor may be infinite (a scale beyond
        // FLT_MAX / 127): such a value fits no other type.
        if type != .float32, let bad = FloatScan.firstNonFinite(values) {
            throw FFFError(.invalidValue, "\(what)[\(bad)] is \(values[bad]) in float32 and cannot be stored as \(type.name)")
        }
        switch type {
        case .float32:
            return Encoded(values: values)
        case .float16, .bfloat16:
            var decoded = values
            for i in decoded.indices {
                let x = values[i]
                let bits = type == .float16 ? float16Bits(x) : bfloat16Bits(x)
                if isNonFinite(bits, type) {
                    let limit = type == .float16 ? "65520" : "about 3.3961e38"
                    throw FFFError(.invalidValue, "\(what)[\(i)] is \(x); it rounds to infinity in \(type.name) (|x| >= \(limit)) and cannot be stored")
                }
                decoded[i] = type == .float16 ? float(float16: bits) : float(bfloat16: bits)
            }
            return Encoded(values: decoded)
        case .int8Row:
            return try encodeInt8Rows(values, layout: layout, what: what)
        }
    }

    /// int8-row: per row, `m = max |w|`; `m == 0` gives scale 1 and every q 0; otherwise
    /// `scale = float32(float64(m) / 127)` and `q = clamp(roundHalfEven(float64(w) / float64(scale)), -127, 127)`.
    private static func encodeInt8Rows(_ values: [Float], layout: RowLayout, what: String) throws(FFFError) -> Encoded {
        let (outer, reduced, inner) = (layout.outer, layout.reduced, layout.inner)
        var largest = [Float](repeating: 0, count: layout.rows)
        values.withUnsafeBufferPointer { w in
            largest.withUnsafeMutableBufferPointer { m in
                for a in 0..<outer {
                    for b in 0..<reduced {
                        let base = (a * reduced + b) * inner
                        for c in 0..<inner {
                            m[a * inner + c] = max(m[a * inner + c], abs(w[base + c]))
                        }
                    }
                }
            }
        }
        var scales = [Float](repeating: 1, count: layout.rows)
        for r in scales.indices where largest[r] != 0 {
            let scale = Float(Double(largest[r]) / 127.0)
            if scale == 0 {
                throw FFFError(.invalidValue, "\(what) row \(r): its largest magnitude \(largest[r]) is too small for a nonzero float32 scale (m / 127 rounds to 0) and cannot be stored as int8-row")
            }
            scales[r] = scale
        }
        var q = [Int8](repeating: 0, count: values.count)
        var decoded = values
        for a in 0..<outer {
            for b in 0..<reduced {
                let base = (a * reduced + b) * inner
                for c in 0..<inner {
                    let i = base + c
                    let scale = scales[a * inner + c]
                    let quotient = (Double(values[i]) / Double(scale)).rounded(.toNearestOrEven)
                    let k = Int8(min(max(quotient, -127), 127))
                    q[i] = k
                    // Beyond float32 (±infinity) only for |w| within a few ulps of FLT_MAX,
                    // whose scale * 127 exceeds it: the exact value is still scale * q.
                    decoded[i] = dequantize(scale: scale, q: k)
                }
            }
        }
        return Encoded(values: decoded, scales: scales, q: q)
    }
}
