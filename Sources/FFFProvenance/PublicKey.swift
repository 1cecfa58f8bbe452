import Crypto
import CryptoExtras
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An Ed25519 public key: verifies signatures. Its key id is SHA-256 of its 32 raw bytes.
public struct PublicKey: Sendable, Hashable {
    /// The 32-byte raw public key.
    public let rawRepresentation: [UInt8]

    /// A key from its 32 raw bytes.
    /// - Throws: `KeyError` when `raw` is not 32 bytes.
    public init(rawRepresentation raw: [UInt8]) throws(KeyError) {
        guard raw.count == 32 else { throw KeyError("an Ed25519 public key is 32 bytes; got \(raw.count)") }
        rawRepresentation = raw
    }

    /// A key from the text of a public key file: SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC
    /// KEY-----`, as `openssl pkey -pubout` writes) or an OpenSSH line (`ssh-ed25519 AAAA...
    /// comment`). Surrounding whitespace is ignored.
    /// - Throws: `KeyError` saying what the text is instead (a private key, an RSA or EC key,
    ///   another encoding).
    public init(parsing text: String) throws(KeyError) {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("ssh-") || trimmed.hasPrefix("ecdsa-") || trimmed.hasPrefix("sk-") {
            self = try Self.openSSH(trimmed)
            return
        }
        if trimmed.contains("-----BEGIN PUBLIC KEY-----") {
            do {
                let key = try Curve25519.Signing.PublicKey(pemRepresentation: trimmed)
                rawRepresentation = Array(key.rawRepresentation)
            } catch {
                throw KeyError("this PEM public key is not Ed25519\(PEMKind.algorithmHint(trimmed)); only Ed25519 keys are supported (fffrun keygen, or openssl genpkey -algorithm ed25519)")
            }
            return
        }
        throw KeyError(PEMKind.describe(trimmed, expected: "a public key (-----BEGIN PUBLIC KEY----- PEM or an ssh-ed25519 line)"))
    }

    /// SHA-256 of the raw key: how a `SIGN` section names its signer.
    public var keyID: [UInt8] { Array(SHA256.hash(data: rawRepresentation)) }
    /// The key id as 64 lowercase hex digits.
    public var keyIDHex: String { Hex.string(keyID) }

    /// SubjectPublicKeyInfo PEM, as `openssl pkey -pubout` writes it.
    public var pemRepresentation: String {
        // The key is 32 bytes: construction cannot fail.
        (try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation))?.pemRepresentation ?? ""
    }

    /// The OpenSSH line `ssh-ed25519 BASE64 comment`.
    public func openSSHRepresentation(comment: String) -> String {
        var blob: [UInt8] = []
        func string(_ bytes: [UInt8]) {
            let n = UInt32(bytes.count)
            blob += [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
        }
        string(Array("ssh-ed25519".utf8))
        string(rawRepresentation)
        return "ssh-ed25519 " + Data(blob).base64EncodedString() + (comment.isEmpty ? "" : " " + comment)
    }

    /// `Ed25519.verify`: whether `signature` is a valid signature of `message` by this key.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation) else { return false }
        return key.isValidSignature(signature, for: message)
    }

    /// The OpenSSH wire format: string "ssh-ed25519", string key (32 bytes).
    private static func openSSH(_ line: String) throws(KeyError) -> PublicKey {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else { throw KeyError("this OpenSSH public key line has no key after its type") }
        guard fields[0] == "ssh-ed25519" else {
            throw KeyError("this is an OpenSSH \(fields[0].prefix(40)) key; only ssh-ed25519 keys are supported")
        }
        guard let blob = Data(base64Encoded: String(fields[1])).map(Array.init) else {
            throw KeyError("the key of this ssh-ed25519 line is not base64")
        }
        var position = 0
        func string() -> [UInt8]? {
            guard blob.count - position >= 4 else { return nil }
            let n = blob[position ..< position + 4].reduce(0) { $0 << 8 | Int($1) }
            position += 4
            guard blob.count - position >= n else { return nil }
            defer { position += n }
            return Array(blob[position ..< position + n])
        }
        guard string() == Array("ssh-ed25519".utf8), let raw = string(), raw.count == 32, position == blob.count else {
            throw KeyError("the key of this ssh-ed25519 line is not an Ed25519 public key (string \"ssh-ed25519\", then 32 bytes)")
        }
        return try PublicKey(rawRepresentation: raw)
    }
}
