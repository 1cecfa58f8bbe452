import Testing
@testable import FFFRecords

@Suite struct IDXHeaderTests {
    func parse(_ bytes: [UInt8]) throws(RecordError) -> IDXHeader {
        try bytes.withUnsafeBytes { b in Result { () throws(RecordError) in try IDXHeader.parse(b) } }.get()
    }

    @Test func mnistHeaders() throws {
        let images = try parse([0, 0, 0x08, 3] + Encode.be32(10_000) + Encode.be32(28) + Encode.be32(28))
        #expect(images.recordCount == 10_000 && images.recordWidth == 784 && images.length == 16)
        #expect(images.element == ElementType(kind: .unsigned, size: 1, bigEndian: true))
        #expect(images.recordShapeDescription == "28x28 = 784 values")
        let labels = try parse([0, 0, 0x08, 1] + Encode.be32(10_000))
        #expect(labels.recordWidth == 1 && labels.recordShapeDescription == "single values")
        // A count past 2^31 is a promise like any other.
        #expect(try parse([0, 0, 0x0D, 2] + Encode.be32(0xFFFF_FFFF) + Encode.be32(3)).recordCount == 4_294_967_295)
    }

    @Test func detection() {
        func looks(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { IDXHeader.looksLikeIDX($0) } }
        #expect(looks([0, 0, 0x08, 3]) && looks([0, 0, 0x0E, 1]))
        #expect(!looks([0, 0, 0x0A, 1]) && !looks([0, 0, 0x08, 0]) && !looks([0, 1, 0x08, 1]) && !looks([0, 0, 0x08]))
    }
}
