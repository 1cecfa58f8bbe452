import Crypto
import CryptoExtras

/// An Ed25519 private key: signs. Keep it secret; its ``publicKey`` is what others verify with.
public struct SigningKey: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    /// A new random key (the system's secure random generator).
    public static func generate() -> SigningKey {
        SigningKey(key: Curve25519.Signing.PrivateKey())
    }

    private init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
    }

    /// A key from the text of a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`, as `openssl
    /// genpkey -algorithm ed25519` and `fffrun keygen` write).
    /// - Throws: `KeyError` saying what the text is instead.
    public init(parsing text: String) throws(KeyError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.contains("-----BEGIN PRIVATE KEY-----") else {
            throw KeyError(PEMKind.describe(trimmed, expected: "a private key (-----BEGIN PRIVATE KEY----- PKCS#8 PEM)"))
        }
        do {
            key = try Curve25519.Signing.PrivateKey(pemRepresentation: trimmed)
        } catch {
            throw KeyError("this PKCS#8 private key is not Ed25519\(PEMKind.algorithmHint(trimmed)); only Ed25519 keys are supported (fffrun keygen, or openssl genpkey -algorithm ed25519)")
        }
    }

    /// The matching public key.
    public var publicKey: PublicKey {
        // 32 bytes by construction.
        try! PublicKey(rawRepresentation: Array(key.publicKey.rawRepresentation))
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    public var pemRepresentation: String { key.pemRepresentation }

    /// The 64-byte Ed25519 signature of `message` (RFC 8032; deterministic with swift-crypto's
    /// BoringSSL backend, as on Linux).
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        Array(try key.signature(for: message))
    }
}
