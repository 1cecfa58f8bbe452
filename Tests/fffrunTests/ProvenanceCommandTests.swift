import Foundation
import Testing
import FastFeedforward

/// `fffrun keygen`, `sign`, `verify`, `info`'s provenance lines and `--verify-key`, run as a
/// user runs them: the committed test keys (fixtures/provenance), keys made by keygen and by
/// openssl, files rewritten with other codecs, and files altered after signing.
@Suite struct ProvenanceCommandTests {
    typealias F = ClassifyFixtures
    static let keys = F.fixtures.appendingPathComponent("provenance").path
    static let testKey = keys + "/test-key.pem", testPub = keys + "/test-key.pub", otherPub = keys + "/other-key.pub"
    static let testKeyID = "44ad5f4f148a0f744d1b5f33bd4b1a98991e1dc72d6d832435e0331d50fa30ff"
    static let demo = F.fixtures.appendingPathComponent("demo/digits.fff").path

    /// A plain (codec none, no filter) copy of the demo model with a card, so that every
    /// covered byte can be flipped in place; returns its path.
    static func plainCardModel(in directory: TemporaryDirectory) throws -> String {
        var model = try FFFReader.read(contentsOf: demo)
        model.card = try ModelCard([MetadataEntry(key: "name", value: "digits"), MetadataEntry(key: "license", value: "MIT"),
                                    MetadataEntry(key: "x-note", value: "plain")])
        let path = directory.path("plain.fff")
        try FFFWriter.write(model, to: path, options: .init(codec: .none, shuffle: false))
        return path
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    /// Where each section's stored bytes are: type -> (offset, length).
    static func sections(_ bytes: [UInt8]) -> [String: (offset: Int, length: Int)] {
        func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        let count = (0..<4).reduce(0) { $0 | Int(bytes[12 + $1]) << (8 * $1) }
        var result: [String: (Int, Int)] = [:]
        for i in 0..<count {
            let entry = 32 + 40 * i
            result[String(decoding: bytes[entry ..< entry + 4], as: UTF8.self)] = (u64(entry + 8), u64(entry + 16))
        }
        return result
    }

    /// CRC-32 (IEEE, reflected), bit by bit: independent of the library's.
    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// Recomputes every checksum after a test flipped a stored byte, so the file stays valid.
    static func rechecksum(_ bytes: inout [UInt8]) {
        func put(_ value: UInt32, _ at: Int) { for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) } }
        let count = (0..<4).reduce(0) { $0 | Int(bytes[12 + $1]) << (8 * $1) }
        for (i, (offset, length)) in (0..<count).map({ i -> (Int, (Int, Int)) in
            let entry = 32 + 40 * i
            let offset = (0..<8).reduce(0) { $0 | Int(bytes[entry + 8 + $1]) << (8 * $1) }
            let length = (0..<8).reduce(0) { $0 | Int(bytes[entry + 16 + $1]) << (8 * $1) }
            return (i, (offset, length))
        }) {
            put(crc(bytes[offset ..< offset + length]), 32 + 40 * i + 36)
        }
        put(crc(bytes[32 ..< 32 + 40 * count]), 32 + 40 * count)
        put(crc(bytes[0 ..< 28]), 28)
    }

    @Test func testKeySignsAndVerifiesOnlyWithItsPublicKey() throws {
        let directory = try TemporaryDirectory()
        let signed = directory.path("signed.fff")
        let sign = try F.fffrun(["sign", Self.demo, "--key", Self.testKey, "-o", signed])
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(sign.stdout.contains("key id: \(Self.testKeyID)"))
        let good = try F.fffrun(["verify", signed, "--key", Self.testPub])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.lines.first == "\(signed): good-signature")
        #expect(good.stdout.contains(Self.testKeyID))
        let ssh = try F.fffrun(["verify", signed, "--key", Self.keys + "/test-key.ssh.pub"])
        #expect(ssh.status == 0)
        let other = try F.fffrun(["verify", signed, "--key", Self.otherPub])
        #expect(other.status == 65)
        #expect(other.lines.first == "\(signed): unknown-key" && other.stdout.contains(Self.testKeyID))
        let both = try F.fffrun(["verify", signed, "--key", Self.otherPub, "--key", Self.testPub])
        #expect(both.status == 0)
        let unsigned = try F.fffrun(["verify", Self.demo, "--key", Self.testPub])
        #expect(unsigned.status == 65 && unsigned.lines.first == "\(Self.demo): unsigned")
        // Signing is deterministic, and signing again with the same key replaces its signature.
        let again = directory.path("again.fff")
        #expect(try F.fffrun(["sign", Self.demo, "--key", Self.testKey, "-o", again]).status == 0)
        #expect(try Self.bytes(again) == Self.bytes(signed))
        let twice = try F.fffrun(["sign", signed, "--key", Self.testKey, "-o", directory.path("twice.fff")])
        #expect(twice.stdout.contains("signatures: 1"))
        #expect(try Self.bytes(directory.path("twice.fff")) == Self.bytes(signed))
        // The JSON verdict.
        let json = try F.fffrun(["verify", "--json", signed, "--key", Self.otherPub])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(object["verdict"] as? String == "unknown-key" && object["good"] as? Bool == false)
        #expect((object["identity"] as? String)?.count == 64)
    }

    @Test func keygenKeysSignAndVerify() throws {
        let directory = try TemporaryDirectory()
        let key = directory.path("release")
        let made = try F.fffrun(["keygen", "-o", key, "--ssh-comment", "me@example"])
        #expect(made.status == 0, "\(made.stderr)")
        let id = try #require(made.lines.first(where: { $0.hasPrefix("key id: ") })).dropFirst(8)
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: key, encoding: .utf8).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(try String(contentsOfFile: key + ".pub", encoding: .utf8).hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(try String(contentsOfFile: key + ".ssh.pub", encoding: .utf8).hasPrefix("ssh-ed25519 "))
        let exists = try F.fffrun(["keygen", "-o", key])
        #expect(exists.status == 73 && exists.stderr.contains("--force"))
        // Nothing is written when one of the files exists: no orphan public key.
        try Self.write(Array("x".utf8), directory.path("half.pub"))
        let half = try F.fffrun(["keygen", "-o", directory.path("half")])
        #expect(half.status == 73 && half.stderr.contains("half.pub"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("half")))
        let model = directory.path("m.fff")
        try FileManager.default.copyItem(atPath: Self.demo, toPath: model)
        #expect(try F.fffrun(["sign", model, "--key", key, "--in-place"]).status == 0)
        let verify = try F.fffrun(["verify", model, "--key", key + ".ssh.pub"])
        #expect(verify.status == 0 && verify.stdout.contains(String(id)), "\(verify.stdout)")
        #expect(try F.fffrun(["verify", model, "--key", Self.testPub]).status == 65)
        // Two signers.
        #expect(try F.fffrun(["sign", model, "--key", Self.testKey, "--in-place"]).status == 0)
        let info = try F.fffrun(["info", model])
        #expect(info.stdout.contains("signatures (2):") && info.stdout.contains(Self.testKeyID) && info.stdout.contains(String(id)))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
                   || (try? F.run("openssl", ["version"]).status) == 0,
                   "openssl is not installed: keys made by openssl are not tested"))
    func opensslKeysWork() throws {
        let directory = try TemporaryDirectory()
        let key = directory.path("k.pem"), pub = directory.path("k.pub")
        #expect(try F.run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key]).status == 0)
        #expect(try F.run("openssl", ["pkey", "-in", key, "-pubout", "-out", pub]).status == 0)
        let signed = directory.path("s.fff")
        let sign = try F.fffrun(["sign", Self.demo, "--key", key, "-o", signed])
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(try F.fffrun(["verify", signed, "--key", pub]).status == 0)
        // And openssl verifies our signature of the 104-byte message.
        let bytes = try Self.bytes(signed)
        let sign104 = try #require(Self.sections(bytes)["SIGN"])
        let payload = Array(bytes[sign104.offset ..< sign104.offset + sign104.length])
        try Self.write([0x46, 0x46, 0x46, 0x53, 0x49, 0x47, 0x31, 0] + payload[8..<104], directory.path("msg"))
        try Self.write(Array(payload[144..<208]), directory.path("sig"))
        let check = try F.run("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                                          "-in", directory.path("msg"), "-sigfile", directory.path("sig")])
        #expect(check.status == 0, "openssl: \(check.stdout) \(check.stderr)")
    }

    /// Rewriting the signed model with another codec, level or filter keeps its identity, and
    /// the signature (carried by the model) still verifies.
    @Test func recompressingKeepsTheIdentityAndTheSignature() throws {
        let directory = try TemporaryDirectory()
        let signed = directory.path("signed.fff")
        #expect(try F.fffrun(["sign", Self.demo, "--key", Self.testKey, "-o", signed]).status == 0)
        func identity(_ path: String) throws -> String {
            let info = try F.fffrun(["info", path])
            return String(try #require(info.lines.first(where: { $0.hasPrefix("identity: ") })).dropFirst(10))
        }
        let expected = try identity(signed)
        let unsignedIdentity = try identity(Self.demo)
        #expect(expected.count == 64 && expected == unsignedIdentity)
        let model = try FFFReader.read(contentsOf: signed)
        for (name, options) in [("none", FFFWriter.Options(codec: .none, shuffle: false)),
                                ("none-shuffle", FFFWriter.Options(codec: .none, shuffle: true)),
                                ("zstd1", FFFWriter.Options(codec: .zstd, level: 1, shuffle: false)),
                                ("zstd19", FFFWriter.Options(codec: .zstd, level: 19, shuffle: true))] {
            let path = directory.path(name + ".fff")
            try FFFWriter.write(model, to: path, options: options)
            #expect(try identity(path) == expected, "\(name)")
            let verify = try F.fffrun(["verify", path, "--key", Self.testPub])
            #expect(verify.status == 0, "\(name): \(verify.stdout)")
        }
        // Metadata is not covered either.
        var relabelled = model
        relabelled = try FFFModel(inputWidth: model.inputWidth, outputWidth: model.outputWidth, depth: model.depth,
                                  leafWidth: model.leafWidth, activation: model.activation, preprocessing: model.preprocessing,
                                  nodeWeights: model.nodeWeights, nodeBiases: model.nodeBiases,
                                  leafHiddenWeights: model.leafHiddenWeights, leafHiddenBiases: model.leafHiddenBiases,
                                  leafOutputWeights: model.leafOutputWeights, leafOutputBiases: model.leafOutputBiases,
                                  masterLeaf: model.masterLeaf, labels: model.labels, metadata: [MetadataEntry(key: "k", value: "v")])
        relabelled.signatures = model.signatures
        try FFFWriter.write(relabelled, to: directory.path("meta.fff"))
        #expect(try F.fffrun(["verify", directory.path("meta.fff"), "--key", Self.testPub]).status == 0)
    }

    /// A bit flipped in any covered part (a weight, a bias, the preprocessing, the header's
    /// activation, the card, the labels, the signature itself), checksums recomputed so that
    /// the file stays valid, makes verify exit 65 saying what changed; info warns too.
    @Test func flippedCoveredBitsFailVerification() throws {
        let directory = try TemporaryDirectory()
        let plain = try Self.plainCardModel(in: directory)
        let signed = directory.path("signed.fff")
        #expect(try F.fffrun(["sign", plain, "--key", Self.testKey, "-o", signed]).status == 0)
        #expect(try F.fffrun(["verify", signed, "--key", Self.testPub]).status == 0)
        let original = try Self.bytes(signed)
        let layout = Self.sections(original)
        // (section, byte within its payload, the words verify must print)
        var flips: [(String, Int, String)] = [("MODL", 24, "weights/shape/preprocessing changed"),
                                              ("PREP", 8, "weights/shape/preprocessing changed")]
        // Labels "0" ... "9": bit 6 makes a letter of a digit, so they stay distinct.
        for type in ["NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2"] {
            let length = try #require(layout[type]).length
            for byte in [0, length / 2 / 4 * 4, length - 4] { flips.append((type, byte, "weights/shape/preprocessing changed")) }
        }
        let card = try #require(layout["CARD"])
        flips.append(("CARD", card.length - 1, "model card changed"))   // the last byte of x-note's value
        let labels = try #require(layout["LABL"])
        flips.append(("LABL", labels.length - 1, "labels changed"))
        flips.append(("SIGN", 8, "weights/shape/preprocessing changed"))  // the recorded identity
        flips.append(("SIGN", 104 + 40 + 5, "does not verify"))          // the signature bytes
        for (type, byte, words) in flips {
            var bytes = original
            let at = try #require(layout[type]).offset + byte
            bytes[at] ^= type == "LABL" ? 0x40 : 0x01  // the lowest bit: a float stays finite
            Self.rechecksum(&bytes)
            let path = directory.path("flip-\(type)-\(byte).fff")
            try Self.write(bytes, path)
            #expect(try F.fffrun(["validate", path]).status == 0, "\(type) byte \(byte): the flipped file must stay valid")
            let verify = try F.fffrun(["verify", path, "--key", Self.testPub])
            #expect(verify.status == 65, "\(type) byte \(byte)")
            #expect(verify.lines.first == "\(path): bad-signature", "\(type) byte \(byte): \(verify.stdout)")
            #expect(verify.stdout.contains(words), "\(type) byte \(byte): \(verify.stdout)")
            if type != "SIGN" || byte == 8 {
                let info = try F.fffrun(["info", path])
                #expect(info.stdout.contains("warning: ") && info.stdout.contains("no longer verify"), "\(type): info")
            }
        }
        // A stale file is not signed again unless asked, and --drop-stale removes the old signature.
        var stale = original
        stale[try #require(layout["LFB1"]).offset] ^= 1
        Self.rechecksum(&stale)
        try Self.write(stale, directory.path("stale.fff"))
        let refused = try F.fffrun(["sign", directory.path("stale.fff"), "--key", Self.testKey, "-o", directory.path("re.fff")])
        #expect(refused.status == 65 && refused.stderr.contains("stale") && refused.stderr.contains("--drop-stale"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.path("re.fff")))
        let dropped = try F.fffrun(["sign", directory.path("stale.fff"), "--key", Self.testKey, "-o", directory.path("re.fff"), "--drop-stale"])
        #expect(dropped.status == 0 && dropped.stdout.contains("signatures: 1"))
        #expect(try F.fffrun(["verify", directory.path("re.fff"), "--key", Self.testPub]).status == 0)
    }

    @Test func infoShowsIdentityCardAndSignatures() throws {
        let directory = try TemporaryDirectory()
        let plain = try Self.plainCardModel(in: directory)
        let signed = directory.path("signed.fff")
        #expect(try F.fffrun(["sign", plain, "--key", Self.testKey, "-o", signed]).status == 0)
        let info = try F.fffrun(["info", signed])
        #expect(info.status == 0)
        #expect(info.lines.contains { $0.hasPrefix("identity: ") && $0.count == 10 + 64 })
        #expect(info.lines.contains("card (3):") && info.lines.contains("  license: MIT"))
        #expect(info.lines.contains("signatures (1):"))
        #expect(info.lines.contains("  key id \(Self.testKeyID) (ed25519)"))
        #expect(info.stdout.contains("format: version 1.2"))
        let plainInfo = try F.fffrun(["info", Self.demo])
        #expect(plainInfo.lines.contains("card: none") && plainInfo.lines.contains("signatures: none"))
        let json = try F.fffrun(["info", "--json", signed])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect((object["identity"] as? String)?.count == 64)
        #expect((object["card"] as? [[String: String]])?.first?["key"] == "name")
        let signatures = try #require(object["signatures"] as? [String: Any])
        #expect(signatures["key_ids"] as? [String] == [Self.testKeyID])
        #expect((signatures["stale"] as? [String])?.isEmpty == true)
    }

    @Test func verifyKeyGuardsClassifyEvalAndCompare() throws {
        let directory = try TemporaryDirectory()
        let signed = directory.path("signed.fff")
        #expect(try F.fffrun(["sign", Self.demo, "--key", Self.testKey, "-o", signed]).status == 0)
        let demo = try F.demo()
        let record = demo.records[0].map { "\($0)" }.joined(separator: ",") + "\n"
        let good = try F.fffrun(["classify", signed, "--verify-key", Self.testPub], stdin: Data(record.utf8))
        #expect(good.status == 0 && good.lines.count == 1, "\(good.stderr)")
        let wrong = try F.fffrun(["classify", signed, "--verify-key", Self.otherPub], stdin: Data(record.utf8))
        #expect(wrong.status == 65 && wrong.stdout.isEmpty)
        #expect(wrong.stderr.contains("refusing to run") && wrong.stderr.contains("unknown-key"), "\(wrong.stderr)")
        let unsigned = try F.fffrun(["classify", Self.demo, "--verify-key", Self.testPub], stdin: Data(record.utf8))
        #expect(unsigned.status == 65 && unsigned.stderr.contains("unsigned"))
        let eval = try F.fffrun(["eval", signed, "--inputs", demo.csvPath, "--labels", demo.labelsPath, "--verify-key", Self.testPub, "-q"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let evalBad = try F.fffrun(["eval", Self.demo, "--inputs", demo.csvPath, "--labels", demo.labelsPath, "--verify-key", Self.testPub, "-q"])
        #expect(evalBad.status == 65 && evalBad.stderr.contains("unsigned"))
        let compare = try F.fffrun(["compare", signed, Self.demo, "--inputs", demo.csvPath, "--verify-key", Self.testPub, "-q"])
        #expect(compare.status == 65 && compare.stderr.contains(Self.demo) && compare.stderr.contains("unsigned"), "\(compare.stderr)")
        let missing = try F.fffrun(["classify", signed, "--verify-key", directory.path("nope.pub")], stdin: Data(record.utf8))
        #expect(missing.status == 66 && missing.stderr.contains("nope.pub"))
        let privateKey = try F.fffrun(["classify", signed, "--verify-key", Self.testKey], stdin: Data(record.utf8))
        #expect(privateKey.status == 65 && privateKey.stderr.contains("private key"), "\(privateKey.stderr)")
    }

    @Test func errorsNameTheFileAndTheProblem() throws {
        let directory = try TemporaryDirectory()
        let both = try F.fffrun(["sign", Self.demo, "--key", Self.testKey, "-o", directory.path("x.fff"), "--in-place"])
        #expect(both.status == 64)
        let neither = try F.fffrun(["sign", Self.demo, "--key", Self.testKey])
        #expect(neither.status == 64 && neither.stderr.contains("--in-place"))
        let publicAsPrivate = try F.fffrun(["sign", Self.demo, "--key", Self.testPub, "-o", directory.path("x.fff")])
        #expect(publicAsPrivate.status == 65 && publicAsPrivate.stderr.contains("test-key.pub") && publicAsPrivate.stderr.contains("public key"))
        let noKey = try F.fffrun(["sign", Self.demo, "--key", directory.path("none.pem"), "-o", directory.path("x.fff")])
        #expect(noKey.status == 66 && noKey.stderr.contains("none.pem"))
        try Self.write(Array("not a model".utf8), directory.path("bad.fff"))
        let badModel = try F.fffrun(["sign", directory.path("bad.fff"), "--key", Self.testKey, "-o", directory.path("x.fff")])
        #expect(badModel.status == 65 && badModel.stderr.contains("bad-magic"))
        let verifyBad = try F.fffrun(["verify", directory.path("bad.fff"), "--key", Self.testPub])
        #expect(verifyBad.status == 65 && verifyBad.stderr.contains("bad-magic") && verifyBad.stdout.isEmpty)
        let verifyMissing = try F.fffrun(["verify", directory.path("none.fff"), "--key", Self.testPub])
        #expect(verifyMissing.status == 66)
        let noKeys = try F.fffrun(["verify", Self.demo])
        #expect(noKeys.status == 64 && noKeys.stderr.contains("--key"))
        try Self.write(Array("ssh-rsa AAAAB3NzaC1yc2E x".utf8), directory.path("rsa.pub"))
        let rsa = try F.fffrun(["verify", Self.demo, "--key", directory.path("rsa.pub")])
        #expect(rsa.status == 65 && rsa.stderr.contains("rsa.pub") && rsa.stderr.contains("ssh-rsa"))
        #expect(!FileManager.default.fileExists(atPath: directory.path("x.fff")))
    }

    @Test func helpTeachesWithinEightyColumns() throws {
        for command in ["keygen", "sign", "verify"] {
            let help = try F.fffrun([command, "--help"], environment: ["COLUMNS": "80"])
            #expect(help.status == 0)
            for line in help.lines { #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)") }
            let start = try #require(help.lines.firstIndex(where: { $0.hasPrefix("Examples") }), "\(command) has no examples")
            for line in help.lines[(start + 1)...].prefix(while: { !$0.isEmpty }) {
                #expect(line.hasPrefix("  "), "\(command): an example wrapped: '\(line)'")
            }
            #expect(help.stdout.contains("Exit status"))
        }
        for command in ["classify", "eval", "compare"] {
            let help = try F.fffrun([command, "--help"], environment: ["COLUMNS": "80"])
            #expect(help.stdout.contains("--verify-key"), "\(command)")
            for line in help.lines { #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)") }
        }
    }
}
