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
        var rng = SplitMix64(state: UInt64(unit))
        for elements in [0, 1, 2, 7, 64, 1001] {
            let payload = (0..<elements * unit).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let shuffled = ByteShuffle.shuffled(payload, unit: unit)
            // Compare with the definition computed independently by the raw test encoder.
            #expect(shuffled == RawSection("xTST", payload).shuffled(unit: unit).stored)
            #expect(ByteShuffle.unshuffled(shuffled, unit: unit) == payload)
        }
    }
}
