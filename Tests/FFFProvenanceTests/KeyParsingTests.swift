import Foundation
import Testing
import FFFProvenance

/// Key encodings: the committed test keys in every encoding give the documented key ids;
/// what is not an Ed25519 key is refused with a message saying what it is.
@Suite struct KeyParsingTests {
    static let keys: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures/provenance").path
    }()

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: keys + "/" + name, encoding: .utf8)
    }

    static let testKeyID = "44ad5f4f148a0f744d1b5f33bd4b1a98991e1dc72d6d832435e0331d50fa30ff"
    static let otherKeyID = "ac8b96b6befd155ef914e0f1bde18f71b620b4be61961328304e75e2a294016e"

    @Test func committedKeysInEveryEncoding() throws {
        for (name, id) in [("test-key", Self.testKeyID), ("other-key", Self.otherKeyID)] {
            let spki = try PublicKey(parsing: Self.text(name + ".pub"))
            let ssh = try PublicKey(parsing: Self.text(name + ".ssh.pub"))
            let privateKey = try SigningKey(parsing: Self.text(name + ".pem"))
            #expect(spki.keyIDHex == id)
            #expect(ssh == spki)
            #expect(privateKey.publicKey == spki)
            // Our encodings parse back to the same key.
            #expect(try PublicKey(parsing: spki.pemRepresentation) == spki)
            #expect(try PublicKey(parsing: spki.openSSHRepresentation(comment: "x")) == spki)
            #expect(try SigningKey(parsing: privateKey.pemRepresentation).publicKey == spki)
            #expect(spki.pemRepresentation.trimmingCharacters(in: .whitespacesAndNewlines)
                    == (try Self.text(name + ".pub")).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test func signaturesAreDeterministicAndVerify() throws {
        let key = try SigningKey(parsing: Self.text("test-key.pem"))
        let message = Array("FFFSIG1".utf8) + [0] + [UInt8](repeating: 7, count: 96)
        let a = try key.signature(for: message), b = try key.signature(for: message)
        #expect(a == b && a.count == 64)
        #expect(key.publicKey.isValidSignature(a, for: message))
        var flipped = a
        flipped[10] ^= 1
        #expect(!key.publicKey.isValidSignature(flipped, for: message))
        #expect(!(try PublicKey(parsing: Self.text("other-key.pub"))).isValidSignature(a, for: message))
    }

    @Test func wrongKindsAreNamed() throws {
        func publicProblem(_ text: String) -> String {
            do { _ = try PublicKey(parsing: text); return "accepted" } catch { return error.message }
        }
        func privateProblem(_ text: String) -> String {
            do { _ = try SigningKey(parsing: text); return "accepted" } catch { return error.message }
        }
        #expect(publicProblem(try Self.text("test-key.pem")).contains("private key"))
        #expect(privateProblem(try Self.text("test-key.pub")).contains("public key"))
        #expect(publicProblem("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ comment").contains("ssh-rsa"))
        #expect(publicProblem("").contains("empty"))
        #expect(publicProblem("hello").contains("not a PEM or OpenSSH key"))
        #expect(publicProblem("ssh-ed25519 !!!!").contains("base64"))
        // An RSA SubjectPublicKeyInfo (a 512-bit key, from openssl) is named as RSA.
        let rsa = """
            -----BEGIN PUBLIC KEY-----
            MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMHn3LxQ4rK5m4Gq0lGo9YRp0yq3C5cH
            hX4F1w2tqz7pP8X0xqvQ2m0rj0v7vN1cJ6mO4Q3F8z9X5Ck1v2C4S0kCAwEAAQ==
            -----END PUBLIC KEY-----
            """
        #expect(publicProblem(rsa).contains("RSA"), "\(publicProblem(rsa))")
    }
}
