import Testing
@testable import FFFRecords

/// `FileSignature`: the file kinds that are not records, recognised from as few bytes as
/// possible, and refused by `RecordReader` only when the format is detected.
@Suite struct FileSignatureTests {
    private func match(_ bytes: [UInt8]) -> FileSignature.Match {
        bytes.withUnsafeBytes { FileSignature.match($0) }
    }

    @Test func everySignatureIsFoundAndEveryProperPrefixIsUndecided() {
        for signature in FileSignature.all {
            guard case .found(let found) = match(signature.magic + [0, 1, 2]) else {
                Issue.record("\(signature.what) not found")
                continue
            }
            #expect(found == signature)
            for n in 0..<signature.magic.count {
                #expect(match(Array(signature.magic.prefix(n))) == .undecided, "\(signature.what), \(n) bytes")
            }
        }
    }

    /// Text records are ruled out at their first differing byte, so a producer writing a short
    /// record and waiting for its answer is not kept waiting for more bytes.
    @Test func textIsRuledOutAtOnce() {
        for text in ["1", "0.5,3\n", "x0,x1\n", "7,8", "-1 2", "BZ,1", "GIF,1\n", "PKG\n"] {
            let bytes = Array(text.utf8)
            let decidedAt = (1...bytes.count).first { match(Array(bytes.prefix($0))) != .undecided }
            #expect(decidedAt != nil && match(bytes) == FileSignature.Match.none, "\(text)")
            #expect(decidedAt! <= 4, "\(text) needs \(decidedAt!) bytes")
        }
        #expect(FileSignature.longestMagic == 8)
    }

    @Test func readerRefusesAForeignKindOnlyWhenDetecting() throws {
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]
        let auto = try RecordReader(source: MemorySource(png), format: .auto, expectedWidth: 4)
        #expect {
            try auto.next()
        } throws: { error in
            let error = error as! RecordError
            return error.kind == .unsupported && error.message.hasPrefix("this is a PNG image.")
        }
        let named = try RecordReader(source: MemorySource(png), format: .u8, expectedWidth: 4)
        #expect(try named.next() == [0x89, 0x50, 0x4E, 0x47])
        // A record shorter than every magic still reads.
        let short = try RecordReader(source: MemorySource(Array("7\n".utf8)), format: .auto, expectedWidth: 1)
        #expect(try short.next() == [7])
    }
}
