import Foundation
import Testing
import FFFFormat
import FFFProvenance
import FFFTestSupport

/// Signing and verification in the library: the verdicts, and that every covered bit matters.
@Suite struct SignVerifyTests {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static func text(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("fixtures/provenance/" + name), encoding: .utf8)
    }

    /// A small model with preprocessing, a master leaf, labels and a card, in float16 or
    /// float32, stored plain (every stored byte is a payload byte).
    static func model(weightType: ElementType) throws -> FFFModel {
        var rng = SplitMix64(seed: 15)
        let (i, o, d, h, m) = (3, 2, 1, 2, 2)
        let l = 1 << d
        var model = try FFFModel(
            inputWidth: i, outputWidth: o, depth: d, leafWidth: h, activation: .relu,
            preprocessing: Preprocessing(scale: [2, 3, 4], offset: [0.5, -1, 0]),
            nodeWeights: rng.floats((l - 1) * i), nodeBiases: rng.floats(l - 1),
            leafHiddenWeights: rng.floats(l * i * h), leafHiddenBiases: rng.floats(l * h),
            leafOutputWeights: rng.floats(l * h * o), leafOutputBiases: rng.floats(l * o),
            masterLeaf: MasterLeaf(width: m, hiddenWeights: rng.floats(i * m), hiddenBiases: rng.floats(m),
                                   outputWeights: rng.floats(m * o), outputBiases: rng.floats(o), mixingLogit: 0.5),
            labels: ["cat", "dog"], weightType: weightType)
        model.card = try ModelCard([MetadataEntry(key: "name", value: "pets"), MetadataEntry(key: "x-notes", value: "abc")])
        return model
    }

    @Test func verdicts() throws {
        let key = try SigningKey(parsing: Self.text("test-key.pem"))
        let other = try PublicKey(parsing: Self.text("other-key.pub"))
        let otherKey = try SigningKey(parsing: Self.text("other-key.pem"))
        let bytes = FFFWriter.write(try Self.model(weightType: .float32))
        #expect(Verifier.verify(try FFFReader.readFile(bytes: bytes), trustedKeys: [key.publicKey]) == .unsigned)
        let signed = try Signer.sign(bytes, with: key)
        let file = try FFFReader.readFile(bytes: signed)
        #expect(Verifier.verify(file, trustedKeys: [key.publicKey]) == .goodSignature(keyIDs: [key.publicKey.keyIDHex]))
        #expect(Verifier.verify(file, trustedKeys: [other]) == .unknownKey(fileKeyIDs: [key.publicKey.keyIDHex]))
        #expect(Verifier.verify(file, trustedKeys: []).name == "unknown-key")
        let both = try Signer.sign(signed, with: otherKey)
        let bothFile = try FFFReader.readFile(bytes: both)
        #expect(bothFile.model.signatures?.signatures.count == 2)
        #expect(Verifier.verify(bothFile, trustedKeys: [other, key.publicKey]).name == "good-signature")
        if case .goodSignature(let ids) = Verifier.verify(bothFile, trustedKeys: [other, key.publicKey]) {
            #expect(Set(ids) == [other.keyIDHex, key.publicKey.keyIDHex])
        }
        // Identity and digests recorded are those computed.
        let section = try #require(file.model.signatures)
        #expect(section.identity == ModelIdentity(of: file).bytes)
        #expect(ProvenanceDigests(of: file).changes(since: section).isEmpty)
        // A model-level digest equals the file's.
        #expect(ProvenanceDigests(of: file.model) == ProvenanceDigests(of: file))
        // Stale signatures refuse signing unless dropped.
        var changed = file.model
        changed.card = try ModelCard([MetadataEntry(key: "name", value: "other pets")])
        let stale = FFFWriter.write(changed)
        #expect(Verifier.verify(try FFFReader.readFile(bytes: stale), trustedKeys: [key.publicKey])
                == .badSignature(reason: "the model card changed since it was signed"))
        #expect(throws: SigningError.self) { try Signer.sign(stale, with: otherKey) }
        let resigned = try FFFReader.readFile(bytes: Signer.sign(stale, with: otherKey, dropStale: true))
        #expect(resigned.model.signatures?.signatures.map(\.keyID) == [other.keyID])
    }

    /// Every byte of every covered payload (critical sections, card, labels), its lowest bit
    /// flipped: a file that stays valid is never good-signature, and the reason names the part.
    /// Every byte of the SIGN section too (except the key id, which only makes it unknown-key).
    @Test(arguments: [ElementType.float32, .float16, .int8Row])
    func everyCoveredBitMatters(weightType: ElementType) throws {
        let key = try SigningKey(parsing: Self.text("test-key.pem"))
        let signed = try Signer.sign(FFFWriter.write(try Self.model(weightType: weightType), options: .init(codec: .none, shuffle: false)), with: key)
        let layout = try FFFReader.layout(of: signed.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[...]) })
        var flipped = 0, invalid = 0
        for section in layout.sections {
            for byte in 0..<section.storedLength {
                var bytes = signed
                bytes[section.offset + byte] ^= 1
                let fixed = Self.rechecksummed(bytes, layout: layout)
                guard let file = try? FFFReader.readFile(bytes: fixed) else { invalid += 1; continue }
                let verdict = Verifier.verify(file, trustedKeys: [key.publicKey])
                let inKeyID = section.type == "SIGN" && byte >= 104 + 8 && byte < 104 + 40
                let inReserved = section.type == "SIGN" && (4..<8).contains(byte)
                switch (section.type, verdict) {
                case ("SIGN", .unknownKey) where inKeyID, ("SIGN", .goodSignature) where inReserved && layout.minorVersion > 2:
                    break
                case (_, .badSignature(let reason)):
                    let expected = section.type == "CARD" ? ["card"] : section.type == "LABL" ? ["labels"]
                        : section.type == "SIGN" ? ["weights", "card", "labels", "does not verify"] : ["weights"]
                    #expect(expected.contains(where: reason.contains), "\(section.type) byte \(byte): \(reason)")
                default:
                    Issue.record("\(section.type) byte \(byte): \(verdict)")
                }
                flipped += 1
            }
        }
        #expect(flipped > 300 && flipped > 2 * invalid, "\(flipped) valid flips, \(invalid) invalid")
    }

    static func rechecksummed(_ bytes: [UInt8], layout: FFFFileLayout) -> [UInt8] {
        var bytes = bytes
        func crc(_ slice: ArraySlice<UInt8>) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for byte in slice {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
            }
            return ~c
        }
        func put(_ value: UInt32, _ at: Int) { for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) } }
        for (i, section) in layout.sections.enumerated() {
            put(crc(bytes[section.offset ..< section.offset + section.storedLength]), 32 + 40 * i + 36)
        }
        let count = layout.sections.count
        put(crc(bytes[32 ..< 32 + 40 * count]), 32 + 40 * count)
        return bytes
    }
}
