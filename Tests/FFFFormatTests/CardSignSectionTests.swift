import FFFTestSupport
import Testing
@testable import FFFFormat

/// `CARD` and `SIGN` (format 1.2) through the reader, on files of the independent test encoder:
/// each structural rule, its error code and where it points, and the order of the checks.
@Suite struct CardSignSectionTests {
    let model = RawModel()

    func file(_ extra: [RawSection], minor: UInt16 = 2) -> RawFile {
        var file = model.file
        file.minor = minor
        file.sections += extra
        return file
    }

    static func card(_ pairs: [(String, String)]) -> RawSection {
        RawSection("CARD", RawModel.metadata(pairs.map { (Array($0.0.utf8), Array($0.1.utf8)) }), critical: false)
    }

    static func signatures(count: UInt32? = nil, reserved: UInt32 = 0, _ entries: [(UInt8, [UInt8], UInt8)]) -> [UInt8] {
        var payload = Raw.le(count ?? UInt32(entries.count)) + Raw.le(reserved)
        payload += [UInt8](repeating: 1, count: 32) + [UInt8](repeating: 2, count: 32) + [UInt8](repeating: 3, count: 32)
        for (algorithm, keyID, reservedByte) in entries {
            payload += [algorithm, reservedByte, 0, 0, 0, 0, 0, 0] + keyID + [UInt8](repeating: 9, count: 64)
        }
        return payload
    }

    static func sign(_ payload: [UInt8]) -> RawSection { RawSection("SIGN", payload, critical: false) }

    static let keyA = [UInt8](repeating: 0xA1, count: 32), keyB = [UInt8](repeating: 0xB2, count: 32)

    @Test func validCardAndSignaturesAreKept() throws {
        let raw = file([Self.card([("name", "digits"), ("license", "MIT"), ("metrics.accuracy", "0.97"), ("x-note", "\u{1}")]),
                        Self.sign(Self.signatures([(1, Self.keyA, 0), (2, Self.keyB, 0)]))])
        let read = try FFFReader.readFile(bytes: raw.bytes)
        #expect(read.model.card?.entries.map(\.key) == ["name", "license", "metrics.accuracy", "x-note"])
        #expect(read.model.card?["license"] == "MIT")
        let section = try #require(read.model.signatures)
        #expect(section.identity == [UInt8](repeating: 1, count: 32))
        #expect(section.cardDigest == [UInt8](repeating: 2, count: 32) && section.labelsDigest == [UInt8](repeating: 3, count: 32))
        #expect(section.signatures.map(\.algorithm) == [1, 2])
        #expect(section.signatures.map(\.keyID) == [Self.keyA, Self.keyB])
        #expect(read.cardPayload == raw.sections[raw.index(of: "CARD")!].stored)
        #expect(read.layout.section("CARD")?.isKnown == true)
        // The payload a writer writes for them is the same bytes.
        #expect(section.payload == raw.sections[raw.index(of: "SIGN")!].stored)
        #expect(read.model.card?.payload == read.cardPayload)
    }

    @Test func cardTypedValuesAreInvalidValueAtTheValue() throws {
        let raw = file([Self.card([("name", "ok"), ("date", "2023-02-29")])])
        let bytes = raw.bytes
        let error = try #require(readError(bytes))
        #expect(error.code == .invalidValue && error.section == "CARD")
        #expect(error.message.contains("'date'") && error.message.contains("date"))
        // The offset is that of the value's bytes: after count, reserved, the first pair, the key.
        let start = try #require(Raw.sectionOffset(bytes, type: "CARD"))
        #expect(error.offset == start + 8 + (4 + 4) + (4 + 2) + (4 + 4) + 4)
        // A typed value is checked right after its pair, before leftover bytes.
        var trailing = Self.card([("license", "MIT BSD")])
        trailing.stored += [0, 0]
        trailing.decodedLength += 2
        expectCode(file([trailing]).bytes, .invalidValue)
        // ... and before a later pair's structural problem (a repeated key).
        expectCode(file([Self.card([("license", "()"), ("license", "MIT")])]).bytes, .invalidValue)
        // The same value under META, or under an untyped key, is fine.
        #expect(readError(file([RawSection("META", RawModel.metadata([(Array("date".utf8), Array("2023-02-29".utf8))]))]).bytes) == nil)
        #expect(readError(file([Self.card([("x-date", "2023-02-29"), ("Date", "?"), ("metrics.", "98%")])]).bytes) == nil)
    }

    @Test func cardStructureFollowsMeta() {
        #expect(readError(file([Self.card([])]).bytes) == nil)  // count 0 is a card too
        expectCode(file([RawSection("CARD", [1, 0, 0], critical: false)]).bytes, .shapeMismatch)
        expectCode(file([RawSection("CARD", Raw.le(UInt32(65537)) + Raw.le(UInt32(0)), critical: false)]).bytes, .invalidValue)
        var reserved = Self.card([])
        reserved.stored = Raw.le(UInt32(0)) + Raw.le(UInt32(1))
        expectCode(file([reserved]).bytes, .reservedNonzero)
        #expect(readError(file([reserved], minor: 3).bytes) == nil)  // a newer minor may use it
        expectCode(file([Self.card([("a b", "x")])]).bytes, .invalidValue)
        expectCode(file([Self.card([("k", "x"), ("k", "y")])]).bytes, .invalidValue)
        var extra = Self.card([("k", "x")])
        extra.stored += [0]
        extra.decodedLength += 1
        expectCode(file([extra]).bytes, .shapeMismatch)
        // The critical bit is the spec's: CARD and SIGN are ancillary.
        expectCode(file([RawSection("CARD", RawModel.metadata([]), critical: true)]).bytes, .invalidValue)
        expectCode(file([RawSection("SIGN", Self.signatures([(1, Self.keyA, 0)]), critical: true)]).bytes, .invalidValue)
        // Twice is duplicate-section.
        expectCode(file([Self.card([]), Self.card([])]).bytes, .duplicateSection)
    }

    @Test func signStructureInTheSpecsOrder() throws {
        func code(_ payload: [UInt8], minor: UInt16 = 2) -> FFFErrorCode? { readError(file([Self.sign(payload)], minor: minor).bytes)?.code }
        let one = Self.signatures([(1, Self.keyA, 0)])
        #expect(code(one) == nil)
        #expect(code(Array(one[0..<103])) == .shapeMismatch)                       // shorter than 104
        #expect(code(Raw.le(UInt32(0)) + Raw.le(UInt32(0))) == .shapeMismatch)    // short comes before count 0
        #expect(code(Self.signatures(count: 0, [])) == .invalidValue)
        #expect(code(Self.signatures(count: 257, [(1, Self.keyA, 0)])) == .invalidValue)
        #expect(code(Self.signatures(count: 0, reserved: 1, [])) == .invalidValue)  // count before reserved
        #expect(code(Self.signatures(reserved: 1, [(1, Self.keyA, 0)])) == .reservedNonzero)
        #expect(code(Self.signatures(reserved: 1, [(1, Self.keyA, 0)]), minor: 3) == nil)
        #expect(code(Self.signatures(count: 2, reserved: 1, [(1, Self.keyA, 0)])) == .reservedNonzero)  // before length
        #expect(code(Self.signatures(count: 2, [(1, Self.keyA, 0)])) == .shapeMismatch)
        #expect(code(one + [0]) == .shapeMismatch)
        #expect(code(Self.signatures([(0, Self.keyA, 0)])) == .invalidValue)
        #expect(code(Self.signatures([(1, Self.keyA, 5)])) == .reservedNonzero)
        #expect(code(Self.signatures([(1, Self.keyA, 5)]), minor: 3) == nil)
        #expect(code(Self.signatures([(0, Self.keyA, 5)])) == .invalidValue)      // algorithm before reserved
        #expect(code(Self.signatures([(1, Self.keyA, 0), (2, Self.keyA, 0)])) == .invalidValue)  // same key id
        #expect(code(Self.signatures([(255, Self.keyA, 0), (7, Self.keyB, 0)])) == nil)  // later algorithms are valid
        #expect(code(Self.signatures((0..<256).map { (1, Raw.le(UInt64($0)) + [UInt8](repeating: 0, count: 24), 0) })) == nil)
        // Where it points: algorithm 0 of the second signature.
        let bytes = file([Self.sign(Self.signatures([(1, Self.keyA, 0), (0, Self.keyB, 0)]))]).bytes
        let error = try #require(readError(bytes))
        #expect(error.offset == (try #require(Raw.sectionOffset(bytes, type: "SIGN"))) + 104 + 104)
        #expect(error.section == "SIGN" && error.message.contains("signature 1"))
        // Compressed, the reader checks the decoded payload and names its byte.
        let zipped = readError(file([Self.sign(Self.signatures([(0, Self.keyA, 0)])).zstd()]).bytes)
        #expect(zipped?.code == .invalidValue && zipped?.message.contains("decoded payload byte 104") == true)
    }

    @Test func minorTwoReservedFieldsAreChecked() {
        var header = model.file
        header.minor = 2
        header.trailerReserved = 1
        expectCode(header.bytes, .reservedNonzero)
        header.minor = 3
        #expect(readError(header.bytes) == nil)
    }
}
