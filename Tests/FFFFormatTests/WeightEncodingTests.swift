import Testing
@testable import FFFFormat

/// The writer rules of format 1.1 against hand-computed values (numpy's `astype(np.float16)`, the
/// bfloat16 bit formula, the int8-row float64 formulas), so that Swift and Python write the same
/// bytes.
@Suite struct WeightEncodingTests {
    private func f16(_ x: Float) -> UInt16 { WeightEncoding.float16Bits(x) }
    private func bf16(_ x: Float) -> UInt16 { WeightEncoding.bfloat16Bits(x) }

    @Test func float16RoundsToNearestEven() {
        #expect(f16(1.0 / 3.0) == 0x3555)  // 0.333251953125, as numpy
        #expect(WeightEncoding.float(float16: 0x3555) == 0.333251953125)
        #expect(f16(1) == 0x3C00)
        #expect(f16(-0.0) == 0x8000)
        #expect(f16(0) == 0x0000)
        // Ties between 1 and 1 + 2^-10 go to the even mantissa; above the tie, up.
        #expect(f16(1 + 0x1p-11) == 0x3C00)
        #expect(f16(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(f16(Float(bitPattern: (1 + Float(0x1p-11)).bitPattern + 1)) == 0x3C01)
        // The largest finite, and the overflow threshold 65520 (the tie with 65536).
        #expect(f16(65504) == 0x7BFF)
        #expect(f16(65519.996) == 0x7BFF)
        #expect(f16(65520) == 0x7C00)
        #expect(f16(-65520) == 0xFC00)
        // Subnormals are values: 2^-24 is the least, 2^-25 a tie to 0, 3 * 2^-25 a tie to 2.
        #expect(f16(0x1p-24) == 0x0001)
        #expect(f16(0x1p-25) == 0x0000)
        #expect(f16(Float(bitPattern: Float(0x1p-25).bitPattern + 1)) == 0x0001)
        #expect(f16(3 * 0x1p-25) == 0x0002)
        #expect(f16(-0x1p-14) == 0x8400)  // the least normal
        #expect(f16(.leastNonzeroMagnitude) == 0)
    }

    /// The bit-arithmetic conversion (for platforms without `Float16`) is `Float16`'s.
    @Test func portableFloat16MatchesTheStandardLibrary() {
        var patterns: [UInt32] = []
        var bits: UInt32 = 0
        while true {
            patterns.append(bits)
            let (next, overflow) = bits.addingReportingOverflow(4093)
            if overflow { break }
            bits = next
        }
        // Every float16 value, its neighbours in float32, and the ties between float16 values.
        for h in 0 ... UInt16.max {
            let f = Float(Float16(bitPattern: h)).bitPattern
            patterns += [f, f &+ 1, f &- 1, f &+ 0x1000, f &+ 0xFFF, f &+ 0x1001]
        }
        var mismatches = 0
        for pattern in patterns {
            let x = Float(bitPattern: pattern)
            let expected = Float16(x).bitPattern
            let got = WeightEncoding.float16BitsPortable(x)
            if x.isNaN ? (got & 0x7C00 != 0x7C00 || got & 0x3FF == 0) : got != expected {
                mismatches += 1
                if mismatches < 5 { Issue.record("\(x) (\(pattern)): got \(got), Float16 gives \(expected)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func float16DecodesEveryPatternExactly() {
        for h in 0 ... UInt16.max {
            let expected = Float(Float16(bitPattern: h))
            let got = WeightEncoding.float(float16: h)
            #expect(expected.isNaN ? got.isNaN : got.bitPattern == expected.bitPattern, "\(h)")
            #expect(WeightEncoding.isNonFinite(h, .float16) == !expected.isFinite)
            if expected.isFinite { #expect(f16(got) == h) }
        }
    }

    @Test func bfloat16RoundsToNearestEvenOnTheBits() {
        #expect(bf16(1.0 / 3.0) == 0x3EAB)  // 0x3EAAAAAB: the lower half is above the tie
        #expect(bf16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(bf16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd goes up
        #expect(bf16(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
        #expect(bf16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(bf16(Float(bitPattern: 0xBF81_8000)) == 0xBF82)  // sign-magnitude: the same for negatives
        #expect(bf16(-0.0) == 0x8000)
        #expect(bf16(Float(bitPattern: 0x0000_8000)) == 0x0000)  // subnormal tie to even 0
        #expect(bf16(Float(bitPattern: 0x0001_8000)) == 0x0002)
        #expect(bf16(Float(bitPattern: 0x7F7F_7FFF)) == 0x7F7F)
        #expect(bf16(Float(bitPattern: 0x7F7F_8000)) == 0x7F80)  // rounds to infinity
        #expect(bf16(.greatestFiniteMagnitude) == 0x7F80)
        for h: UInt16 in [0x0000, 0x0001, 0x3F80, 0x7F7F, 0x8001, 0xFF7F] {
            #expect(bf16(WeightEncoding.float(bfloat16: h)) == h)
            #expect(!WeightEncoding.isNonFinite(h, .bfloat16))
        }
        for h: UInt16 in [0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF] {
            #expect(WeightEncoding.isNonFinite(h, .bfloat16))
        }
    }

    /// A value that cannot be stored fails the encoding (`invalid-value`), never an infinity.
    @Test func overflowIsInvalidValue() throws {
        let layout = RowLayout(outer: 1, reduced: 3, inner: 1)
        for (type, value) in [(ElementType.float16, Float(65520)), (.float16, -1e6), (.bfloat16, .greatestFiniteMagnitude),
                              (.bfloat16, Float(bitPattern: 0xFF7F_8000))] {
            let failure = expectThrows(.invalidValue) {
                try WeightEncoding.encode([0, value, 1], as: type, layout: layout, what: "w")
            }
            #expect(failure?.message.contains("w[1]") == true)
        }
        #expect(try WeightEncoding.encode([0, 65504, 1], as: .float16, layout: layout, what: "w").values == [0, 65504, 1])
    }

    @Test func int8RowsWithKnownQ() throws {
        // One row (MSW2 of one output): m = 1, scale = float32(1 / 127) = 0x3C010204.
        let row: [Float] = [1, -0.5, 0.25, 0.1, -1.0 / 3.0]
        let encoded = try WeightEncoding.encode(row, as: .int8Row, layout: RowLayout(outer: 1, reduced: 5, inner: 1), what: "w")
        #expect(encoded.scales.map(\.bitPattern) == [0x3C01_0204])
        // -0.5 / scale = -63.50000024: not a tie, -64.
        #expect(encoded.q == [127, -64, 32, 13, -42])
        #expect(encoded.values == encoded.q.map { Float(Double(encoded.scales[0]) * Double($0)) })
        // m = 0.7 (negative): scale 0x3BB49C6C, -0.7 / scale = -126.99999831.
        let second = try WeightEncoding.encode([0.3, -0.7, 0.05], as: .int8Row, layout: RowLayout(outer: 1, reduced: 3, inner: 1), what: "w")
        #expect(second.scales.map(\.bitPattern) == [0x3BB4_9C6C])
        #expect(second.q == [54, -127, 9])
    }

    /// Rows are the weights feeding one output unit: for LFW1 `[L][I][H]`, row `a * H + c`
    /// gathers `(a * I + b) * H + c` over `b`.
    @Test func int8RowsFollowTheTensorLayout() throws {
        // L = 2, I = 3, H = 2: each row has its own largest magnitude.
        var values = [Float](repeating: 0, count: 12)
        let largest: [Float] = [1, 2, 4, 8]  // rows (0,0), (0,1), (1,0), (1,1)
        for a in 0..<2 {
            for c in 0..<2 {
                let row = a * 2 + c
                for b in 0..<3 { values[(a * 3 + b) * 2 + c] = largest[row] / Float(b + 1) * (b == 1 ? -1 : 1) }
            }
        }
        let encoded = try WeightEncoding.encode(values, as: .int8Row, layout: RowLayout(outer: 2, reduced: 3, inner: 2), what: "w")
        #expect(encoded.scales == largest.map { Float(Double($0) / 127) })
        for a in 0..<2 {
            for c in 0..<2 {
                #expect((0..<3).map { encoded.q[(a * 3 + $0) * 2 + c] } == [127, -64, 42])  // -63.50000024 and 42.33
            }
        }
    }

    @Test func int8ZeroRowsAndSignedZeros() throws {
        let encoded = try WeightEncoding.encode([0, -0.0, 0, 0.5, -0.0, 0], as: .int8Row,
                                                layout: RowLayout(outer: 2, reduced: 3, inner: 1), what: "w")
        #expect(encoded.scales == [1, Float(Double(0.5) / 127)])  // a zero row: scale 1, q 0
        #expect(encoded.q == [0, 0, 0, 127, 0, 0])
        #expect(bits(encoded.values) == bits([0, 0, 0, encoded.values[3], 0, 0]))  // -0.0 decodes to +0.0
    }

    /// q is clamped to -127 ... 127: a subnormal scale rounds far from m / 127. m = 190 units of
    /// 2^-149 gives scale 1 unit (1.496 rounds down) and m / scale = 190.
    @Test func int8Clamping() throws {
        let unit = Float.leastNonzeroMagnitude
        let encoded = try WeightEncoding.encode([190 * unit, -190 * unit, 63 * unit], as: .int8Row,
                                                layout: RowLayout(outer: 1, reduced: 3, inner: 1), what: "w")
        #expect(encoded.scales == [unit])
        #expect(encoded.q == [127, -127, 63])
        #expect(encoded.values == [127 * unit, -127 * unit, 63 * unit])
        // m / 127 rounding to 0: no nonzero scale can hold the row.
        expectThrows(.invalidValue) {
            try WeightEncoding.encode([unit, 0], as: .int8Row, layout: RowLayout(outer: 1, reduced: 2, inner: 1), what: "w")
        }
        // 63 units / 127 = 0.496 rounds to 0 too.
        #expect(throws: FFFError.self) {
            try WeightEncoding.encode([63 * unit], as: .int8Row, layout: RowLayout(outer: 1, reduced: 1, inner: 1), what: "w")
        }
        #expect(try WeightEncoding.encode([64 * unit], as: .int8Row, layout: RowLayout(outer: 1, reduced: 1, inner: 1), what: "w").q == [64])
    }

    /// Half-way quotients round to even, in float64.
    @Test func int8TiesToEven() throws {
        // scale = float32(127 / 127) = 1 exactly: q = round-half-even(w).
        let values: [Float] = [127, 0.5, 1.5, 2.5, -0.5, -1.5, 126.5, -2.5000002]
        let encoded = try WeightEncoding.encode(values, as: .int8Row, layout: RowLayout(outer: 1, reduced: values.count, inner: 1), what: "w")
        #expect(encoded.scales == [1])
        #expect(encoded.q == [127, 0, 2, 2, 0, -2, 126, -3])
    }
}
