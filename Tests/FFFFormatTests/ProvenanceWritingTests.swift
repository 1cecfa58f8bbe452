import FFFTestSupport
import Testing
@testable import FFFFormat

/// The writer's `CARD` and `SIGN` sections, the identity message (against one built from the
/// independent test encoder's payloads), and the signature splice.
@Suite struct ProvenanceWritingTests {
    static func message(_ file: FFFFile) -> [UInt8] {
        var bytes: [UInt8] = []
        file.forEachIdentityPiece { bytes.append(contentsOf: $0) }
        return bytes
    }

    static func message(_ model: FFFModel) -> [UInt8] {
        var bytes: [UInt8] = []
        model.forEachIdentityPiece { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The message from the spec's text: prefix, then type, u64 length and payload of each
    /// critical section in §6 order, from the raw file's own payloads.
    static func expectedMessage(_ raw: RawFile) -> [UInt8] {
        var out: [UInt8] = [0x46, 0x46, 0x46, 0x49, 0x44, 0x31, 0, 0]
        for type in ["MODL", "PREP", "NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2"] {
            guard let index = raw.index(of: type) else { continue }
            let payload = raw.sections[index].stored  // codec none, no filter in these files
            out += Array(type.utf8) + Raw.le(UInt64(payload.count)) + payload
        }
        return out
    }

    static let signatures = try! SignatureSection(
        identity: [UInt8](repeating: 1, count: 32), cardDigest: [UInt8](repeating: 2, count: 32),
        labelsDigest: [UInt8](repeating: 3, count: 32),
        signatures: [try! SignatureSection.Signature(algorithm: 1, keyID: [UInt8](repeating: 4, count: 32), signature: [UInt8](repeating: 5, count: 64))])

    @Test func identityMessageMatchesTheSpecForEveryElementType() throws {
        for (weight, node) in [(0, 0), (1, 1), (2, 2), (3, 0), (3, 3), (1, 0)] as [(UInt8, UInt8)] {
            for master: UInt32 in [0, 2] {
                var raw = RawModel(masterWidth: master, weightType: weight, nodeType: node,
                                   mixingLogitBits: master > 0 ? Float(0.25).bitPattern : 0).file
                raw.minor = weight == 0 ? 0 : 1
                raw.sections.insert(RawSection("PREP", RawModel.preprocessing(scale: [2], offset: [-1])), at: 1)
                raw.sections.append(RawSection("LABL", RawModel.labels([[0x61], [0x62]])))
                let file = try FFFReader.readFile(bytes: raw.bytes)
                let expected = Self.expectedMessage(raw)
                #expect(Self.message(file) == expected, "weight \(weight) node \(node) master \(master)")
                #expect(Self.message(file.model) == expected, "model: weight \(weight) node \(node) master \(master)")
                #expect(file.labelsPayload == raw.sections[raw.index(of: "LABL")!].stored)
                #expect(file.cardPayload == nil)
            }
        }
    }

    /// Reserved fields of a newer minor version are part of MODL's stored payload: the file's
    /// message keeps them (the model, which does not, gives the writer's zeros).
    @Test func newerMinorReservedBytesAreHashedAsStored() throws {
        var rawModel = RawModel()
        rawModel.reserved27 = 0x5A
        var raw = rawModel.file
        raw.minor = 3
        let file = try FFFReader.readFile(bytes: raw.bytes)
        #expect(Self.message(file) == Self.expectedMessage(raw))
        #expect(Self.message(file.model) != Self.message(file))
    }

    @Test func codecsFiltersAndAncillarySectionsDoNotChangeTheMessage() throws {
        var raw = RawModel(masterWidth: 2, weightType: 1, nodeType: 1).file
        raw.minor = 1
        let base = try FFFReader.readFile(bytes: raw.bytes)
        var model = base.model
        model.card = try ModelCard([MetadataEntry(key: "name", value: "n")])
        model.signatures = Self.signatures
        let expected = Self.message(base)
        for options in [FFFWriter.Options(codec: .none, shuffle: false), FFFWriter.Options(codec: .none, shuffle: true),
                        FFFWriter.Options(codec: .zstd, level: 1, shuffle: false), FFFWriter.Options(codec: .zstd, level: 19)] {
            let file = try FFFReader.readFile(bytes: FFFWriter.write(model, options: options))
            #expect(Self.message(file) == expected)
        }
        // Every stored critical byte counts: a changed bias changes the message.
        var biases = raw
        let index = try #require(biases.index(of: "LFB1"))
        biases.sections[index].stored[0] ^= 1
        #expect(Self.message(try FFFReader.readFile(bytes: biases.bytes)) != expected)
    }

    @Test func writerWritesCardAndSignPlainAfterMeta() throws {
        var model = try FFFReader.read(bytes: RawModel().file.bytes)
        #expect(FFFWriter.minorVersion(of: model) == 0)
        let plain = try FFFReader.readFile(bytes: FFFWriter.write(model))
        #expect(plain.layout.section("CARD") == nil && plain.layout.section("SIGN") == nil)
        model = try FFFModel(inputWidth: model.inputWidth, outputWidth: model.outputWidth, depth: model.depth,
                             leafWidth: model.leafWidth, activation: model.activation,
                             nodeWeights: model.nodeWeights, nodeBiases: model.nodeBiases,
                             leafHiddenWeights: model.leafHiddenWeights, leafHiddenBiases: model.leafHiddenBiases,
                             leafOutputWeights: model.leafOutputWeights, leafOutputBiases: model.leafOutputBiases,
                             labels: ["a", "b"], metadata: [MetadataEntry(key: "k", value: "v")])
        model.card = try ModelCard([MetadataEntry(key: "license", value: "Apache-2.0 OR MIT"), MetadataEntry(key: "x-y", value: "")])
        model.signatures = Self.signatures
        let bytes = FFFWriter.write(model)
        let file = try FFFReader.readFile(bytes: bytes)
        #expect(file.layout.minorVersion == 2)
        #expect(file.layout.sections.suffix(4).map(\.type) == ["LABL", "META", "CARD", "SIGN"])
        for type in ["CARD", "SIGN"] {
            let info = try #require(file.layout.section(type))
            #expect(info.codec == .none && info.filter == .none && !info.isCritical, "\(type)")
        }
        #expect(file.model == model)
        #expect(file.model.card == model.card && file.model.signatures == Self.signatures)
        #expect(file.cardPayload == model.cardPayload && file.labelsPayload == model.labelsPayload)
        #expect(FFFWriter.write(file.model) == bytes)  // deterministic
        // A card alone also makes it 1.2; converting the weights keeps the card, drops signatures.
        let converted = try model.converted(weightType: .float16)
        #expect(converted.card == model.card && converted.signatures == nil)
        #expect(try model.converted(weightType: .float32).signatures == Self.signatures)
    }

    @Test func replacingSignaturesKeepsEveryOtherSection() throws {
        var raw = RawModel(masterWidth: 2).file
        raw.sections = raw.sections.map { $0.type == Array("LFW1".utf8) ? $0.zstd() : $0 }
        raw.sections.append(RawSection("META", RawModel.metadata([(Array("k".utf8), Array("v".utf8))])))
        raw.sections.append(RawSection("xtra", [1, 2, 3], critical: false))  // an unknown ancillary section
        let original = raw.bytes
        let before = try FFFReader.readFile(bytes: original)
        let signed = try FFFWriter.replacingSignatures(in: original, with: Self.signatures)
        let after = try FFFReader.readFile(bytes: signed)
        #expect(after.layout.minorVersion == 2)
        #expect(after.layout.sections.map(\.type) == before.layout.sections.map(\.type) + ["SIGN"])
        for (old, new) in zip(before.layout.sections, after.layout.sections) {
            #expect(old.codec == new.codec && old.filter == new.filter && old.checksum == new.checksum && old.storedLength == new.storedLength)
            #expect(original[old.offset ..< old.offset + old.storedLength] == signed[new.offset ..< new.offset + new.storedLength])
        }
        #expect(after.model.signatures == Self.signatures)
        // Replacing keeps the place; removing restores the original file but for the minor version.
        var other = try SignatureSection(identity: Self.signatures.identity, cardDigest: Self.signatures.cardDigest,
                                         labelsDigest: Self.signatures.labelsDigest, signatures: Self.signatures.signatures)
        other = try SignatureSection(identity: [UInt8](repeating: 9, count: 32), cardDigest: other.cardDigest,
                                     labelsDigest: other.labelsDigest, signatures: other.signatures)
        let moved = try FFFWriter.replacingSignatures(in: signed + [], with: other)
        #expect(try FFFReader.readFile(bytes: moved).model.signatures == other)
        var reordered = raw
        reordered.sections.insert(RawSection("SIGN", Self.signatures.payload, critical: false), at: raw.sections.count - 1)
        reordered.minor = 2
        let inPlace = try FFFReader.readFile(bytes: FFFWriter.replacingSignatures(in: reordered.bytes, with: other))
        #expect(inPlace.layout.sections.map(\.type).suffix(2) == ["SIGN", "xtra"])
        var removed = try FFFWriter.replacingSignatures(in: signed, with: nil)
        removed[10] = 0
        Raw.rechecksum(&removed)
        #expect(removed == original)
        // An invalid file is refused with its error.
        var broken = original
        broken[broken.count - 1] ^= 1
        #expect(throws: FFFError.self) { try FFFWriter.replacingSignatures(in: broken, with: Self.signatures) }
    }
}
