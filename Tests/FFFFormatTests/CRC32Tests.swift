import FFFTestSupport
import Testing
@testable import FFFFormat

@Suite struct CRC32Tests {
    @Test func checkValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Raw.crc(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test func emptyInput() {
        #expect(CRC32.checksum([]) == 0)
    }

    /// The slicing-by-8 loop against the bit-at-a-time definition, over every length up to 80
    /// (all head/tail splits) and at unaligned starts.
    @Test func matchesBitwiseReference() {
        var rng = SplitMix64(seed: 42)
        let data = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for length in 0...80 {
            for start in 0..<3 {
                let slice = Array(data[start ..< start + length])
                #expect(CRC32.checksum(slice) == Raw.crc(slice), "length \(length), start \(start)")
            }
        }
        #expect(CRC32.checksum(data) == Raw.crc(data))
    }

    @Test func updateContinues() {
        let a = Array("12345".utf8), b = Array("6789".utf8)
        let partial = a.withUnsafeBytes { CRC32.checksum($0) }
        #expect(b.withUnsafeBytes { CRC32.update(partial, $0) } == 0xCBF4_3926)
    }
}
