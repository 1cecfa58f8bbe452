import Foundation
import Testing
import FFFFormat
import FFFProvenance

/// The conformance corpus's provenance fields (fixtures/conformance/manifest.json, format 1.2):
/// every valid entry's `identity`, and each `verify` expectation (trusted keys from
/// fixtures/provenance, and the verdict), computed independently by pyfff.
@Suite struct ProvenanceConformanceTests {
    static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()
    static let corpus = root.appendingPathComponent("fixtures/conformance").path
    static let keys = root.appendingPathComponent("fixtures/provenance").path

    struct Entry {
        let file: String
        let identity: String?
        let verify: [(keys: [String], verdict: String)]
    }

    static func entries() throws -> [Entry] {
        let data = try #require(FileManager.default.contents(atPath: corpus + "/manifest.json"), "no manifest in \(corpus)")
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let valid = try #require(root["valid"] as? [[String: Any]])
        return try valid.map { item in
            let file = try #require(item["file"] as? String)
            let checks = (item["verify"] as? [[String: Any]] ?? []).map { check in
                (keys: check["keys"] as? [String] ?? [], verdict: check["verdict"] as? String ?? "?")
            }
            return Entry(file: file, identity: item["identity"] as? String, verify: checks)
        }
    }

    static func publicKey(_ name: String) throws -> PublicKey {
        let text = try String(contentsOfFile: keys + "/" + name, encoding: .utf8)
        return try PublicKey(parsing: text)
    }

    @Test func everyValidFileHasTheManifestIdentity() throws {
        let entries = try Self.entries()
        let withIdentity = entries.filter { $0.identity != nil }
        #expect(withIdentity.count == entries.count, "\(entries.count - withIdentity.count) valid entries lack an identity")
        #expect(withIdentity.count >= 30)
        var mismatches: [String] = []
        for entry in withIdentity {
            let file = try FFFReader.readFile(contentsOf: Self.corpus + "/" + entry.file)
            let identity = ModelIdentity(of: file).hex
            if identity != entry.identity { mismatches.append("\(entry.file): \(identity), manifest \(entry.identity ?? "")") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func verifyExpectationsHold() throws {
        let entries = try Self.entries().filter { !$0.verify.isEmpty }
        #expect(entries.count >= 5, "only \(entries.count) entries have verify expectations")
        var names = Set<String>()
        var mismatches: [String] = []
        for entry in entries {
            let file = try FFFReader.readFile(contentsOf: Self.corpus + "/" + entry.file)
            for check in entry.verify {
                let keys = try check.keys.map(Self.publicKey)
                let verdict = Verifier.verify(file, trustedKeys: keys)
                names.insert(check.verdict)
                if verdict.name != check.verdict {
                    mismatches.append("\(entry.file) with \(check.keys): \(verdict), manifest \(check.verdict)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        #expect(names == ["unsigned", "unknown-key", "bad-signature", "good-signature"], "verdicts covered: \(names.sorted())")
    }

    /// A model rewritten by the Swift writer (any codec, level, filter) keeps the identity pyfff
    /// computed for the file, and so do the model-level digests.
    @Test func rewrittenFilesKeepTheManifestIdentity() throws {
        for entry in try Self.entries() {
            let file = try FFFReader.readFile(contentsOf: Self.corpus + "/" + entry.file)
            guard file.layout.minorVersion <= 2 else { continue }  // newer minor: reserved fields are not kept
            #expect(ModelIdentity(of: file.model).hex == entry.identity, "\(entry.file)")
            for options in [FFFWriter.Options(codec: .none, shuffle: false), FFFWriter.Options(codec: .zstd, level: 3, shuffle: true)] {
                let again = try FFFReader.readFile(bytes: FFFWriter.write(file.model, options: options))
                #expect(ModelIdentity(of: again).hex == entry.identity, "\(entry.file) rewritten")
                #expect(ProvenanceDigests(of: again) == ProvenanceDigests(of: file), "\(entry.file) rewritten: digests")
            }
        }
    }
}
