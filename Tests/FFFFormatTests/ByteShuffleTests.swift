import FFFTestSupport
import Testing
@testable import FFFFormat

@Suite struct ByteShuffleTests {
    /// The spec's definition on a hand-written example: byte j of element i goes to j * n + i.
    @Test func matchesSpecExample() {
        let payload: [UInt8] = [0x00, 0x01, 0x02, 0x03, 0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x22, 0x23]
        #expect(ByteShuffle.shuffled(payload, unit: 4) == [0x00, 0x10, 0x20, 0x01, 0x11, 0x21, 0x02, 0x12, 0x22, 0x03, 0x13, 0x23])
        #expect(ByteShuffle.shuffled(payload, unit: 2) == [0x00, 0x02, 0x10, 0x12, 0x20, 0x22, 0x01, 0x03, 0x11, 0x13, 0x21, 0x23])
    }

    @Test(arguments: [2, 4, 8])
    func roundTrip(unit: Int) {
        var rng = SplitMix64(seed: UInt64(unit))
        for elements in [0, 1, 2, 7, 64, 1001] {
            let payload = (0..<elements * unit).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let shuffled = ByteShuffle.shuffled(payload, unit: unit)
            // Compare with the definition computed independently by the raw test encoder.
            #expect(shuffled == RawSection("xTST", payload).shuffled(unit: unit).stored)
            #expect(ByteShuffle.unshuffled(shuffled, unit: unit) == payload)
        }
    }

    /// In place through a small scratch buffer, against the definition (the raw test encoder's
    /// shuffle), for sizes around the scratch size, odd plane lengths and scratch sizes that are
    /// not multiples of the unit, so every branch of the halving and of the rotation runs.
    @Test(arguments: [2, 4, 8])
    func unshuffleInPlaceMatchesDefinition(unit: Int) {
        var rng = SplitMix64(seed: 0x5EED + UInt64(unit))
        for scratchCount in [1, 3, 16, 64, 1000] {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchCount, alignment: 16)
            defer { scratch.deallocate() }
            for elements in [0, 1, 2, 3, 5, 31, 64, 127, 1000, 4099] {
                let payload = (0..<elements * unit).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                var buffer = RawSection("xTST", payload).shuffled(unit: unit).stored
                buffer.withUnsafeMutableBytes { ByteShuffle.unshuffleInPlace($0, unit: unit, scratch: scratch) }
                #expect(buffer == payload, "unit \(unit), \(elements) elements, scratch \(scratchCount)")
            }
        }
    }

    /// Block rotation against Array's own rotation, including blocks larger than the scratch.
    @Test func rotateMatchesDefinition() {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 7, alignment: 16)
        defer { scratch.deallocate() }
        for total in [0, 1, 2, 9, 50, 97] {
            for leftCount in 0...total {
                var bytes = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
                let expected = Array(bytes[leftCount...] + bytes[..<leftCount])
                bytes.withUnsafeMutableBytes { buffer in
                    guard let base = buffer.baseAddress else { return }
                    ByteShuffle.rotate(base, leftCount: leftCount, rightCount: total - leftCount,
                                       scratch: scratch.baseAddress!, scratchCount: scratch.count)
                }
                #expect(bytes == expected, "\(leftCount) + \(total - leftCount)")
            }
        }
    }
}
