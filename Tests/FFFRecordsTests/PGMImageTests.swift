import Testing
@testable import FFFRecords

@Suite struct PGMImageTests {
    func parse(_ bytes: [UInt8]) throws(RecordError) -> PGMImage {
        try bytes.withUnsafeBytes { b in Result { () throws(RecordError) in try PGMImage.parse(b) } }.get()
    }

    @Test func binaryAndPlain() throws {
        let p5 = try parse(utf8("P5\n# made by hand\n3 2\n255\n") + [0, 1, 2, 253, 254, 255])
        #expect(p5.width == 3 && p5.height == 2 && p5.pixels == [0, 1, 2, 253, 254, 255])
        let wide = try parse(utf8("P5 2 1 65535 ") + [0x01, 0x02, 0xFF, 0xFF])
        #expect(wide.pixels == [258, 65535])
        let p2 = try parse(utf8("P2\n2 2\n# comment\n15\n0  15\n 7 # inline\n 3\n"))
        #expect(p2.pixels == [0, 15, 7, 3] && p2.maxValue == 15)
    }

    @Test func errors() {
        func error(_ bytes: [UInt8]) -> RecordError? {
            do { _ = try parse(bytes); return nil } catch { return error }
        }
        expectError(error(utf8("P6\n1 1\n255\n") + [0, 0, 0]), .badHeader, "does not start with P5 or P2")
        expectError(error(utf8("P5\n0 2\n255\n")), .badHeader, "0x2: it has no pixels")
        expectError(error(utf8("P5\n2 2\n0\n")), .badHeader, "maxval is 0")
        expectError(error(utf8("P5\n2 2\n70000\n")), .badHeader, "maxval at byte 7 is larger than 65535")
        expectError(error(utf8("P5\n2 2\n255\n") + [1, 2, 3]), .truncated, "3 of 4 bytes")
        expectError(error(utf8("P5\n1 1\n255\n") + [1, 2]), .trailingData, "continues after its 1x1 image")
        expectError(error(utf8("P5\n1 1\n100\n") + [101]), .notANumber, "sample 1 is 101, above the maxval 100")
        expectError(error(utf8("P2\n2 1\n255\n1 x\n")), .notANumber, "sample 2 at byte 13 is not a decimal integer")
        expectError(error(utf8("P2\n2 1\n255\n1\n")), .truncated, "ends after 1 of its 2 samples")
        expectError(error(utf8("P5\n2")), .truncated, "no height")
    }
}
