import Testing
@testable import FFFRecords

@Suite struct ElementTypeTests {
    func decode(_ type: ElementType, _ bytes: [UInt8], count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { b in out.withUnsafeMutableBufferPointer { type.decode(b.baseAddress!, count: count, into: $0.baseAddress!) } }
        return out
    }

    @Test func byteOrders() {
        let le = ElementType(kind: .signed, size: 2, bigEndian: false)
        let be = ElementType(kind: .signed, size: 2, bigEndian: true)
        #expect(decode(le, [0x01, 0x80, 0xFF, 0x7F], count: 2) == [-32767, 32767])
        #expect(decode(be, [0x80, 0x01, 0x7F, 0xFF], count: 2) == [-32767, 32767])
        // Unaligned source: values start at an odd address.
        let bytes: [UInt8] = [0x00, 0x3F, 0x80, 0x00, 0x00]
        var out: Float = 0
        bytes.withUnsafeBytes { ElementType(kind: .float, size: 4, bigEndian: true).decode($0.baseAddress! + 1, count: 1, into: &out) }
        #expect(out == 1)
    }

    @Test func halfPrecision() {
        // IEEE binary16 encodings written out by hand.
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x8000, -0.0), (0x3C00, 1), (0xC000, -2), (0x3555, 0.333251953125), (0x7BFF, 65504),
            (0x0001, 0x1p-24), (0x03FF, 0x1.ff8p-15), (0x0400, 0x1p-14), (0x7C00, .infinity), (0xFC00, -.infinity),
        ]
        for (h, f) in cases {
            #expect(ElementType.halfToFloat(h).bitPattern == f.bitPattern, "0x\(String(h, radix: 16))")
        }
        #expect(ElementType.halfToFloat(0x7E00).isNaN)
        #expect(ElementType.halfToFloat(0x7C01).isNaN)
    }

    @Test func wideIntegersRound() {
        // 2^24 + 1 is not a Float: it rounds to even, as Float(Int) does.
        let i4 = ElementType(kind: .signed, size: 4, bigEndian: false)
        #expect(decode(i4, Encode.le([Int32(16_777_217)]), count: 1) == [16_777_216])
        let u8 = ElementType(kind: .unsigned, size: 8, bigEndian: false)
        #expect(decode(u8, Encode.le([UInt64.max]), count: 1) == [18_446_744_073_709_551_616])
    }
}
