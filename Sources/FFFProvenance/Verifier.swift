import FFFFormat

/// The outcome of verifying a valid file against trusted keys (spec/FORMAT.md, `SIGN`). The
/// library, the Python reader and `fffrun verify` use the same names (``name``).
public enum Verdict: Sendable, Equatable, CustomStringConvertible {
    /// The file has no `SIGN` section.
    case unsigned
    /// No signature (algorithm 1) is by a trusted key. `fileKeyIDs`: the key ids the file holds,
    /// in hex, with any signature of an algorithm this version cannot check.
    case unknownKey(fileKeyIDs: [String])
    /// The recorded digests differ from the file's (`reason` says which changed), or a trusted
    /// key's signature does not verify.
    case badSignature(reason: String)
    /// At least one trusted key's signature verifies and none fails: those keys' ids, in hex.
    case goodSignature(keyIDs: [String])

    /// `unsigned`, `unknown-key`, `bad-signature` or `good-signature`.
    public var name: String {
        switch self {
        case .unsigned: "unsigned"
        case .unknownKey: "unknown-key"
        case .badSignature: "bad-signature"
        case .goodSignature: "good-signature"
        }
    }

    /// Whether the file may be trusted: only ``goodSignature(keyIDs:)``.
    public var isGood: Bool {
        if case .goodSignature = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .unsigned:
            "unsigned: the file has no signatures"
        case .unknownKey(let ids):
            "unknown-key: no signature is by a trusted key; the file is signed by \(ids.joined(separator: ", "))"
        case .badSignature(let reason):
            "bad-signature: \(reason)"
        case .goodSignature(let ids):
            "good-signature: signed by \(ids.joined(separator: ", "))"
        }
    }
}

/// Checks a file's signatures against trusted public keys.
public enum Verifier {
    /// The verdict for `file` (valid: it was read) and the keys the caller trusts, in the
    /// spec's order: no `SIGN` section is `unsigned`; recorded digests that differ from the
    /// computed ones are `bad-signature`; no Ed25519 signature by a trusted key is
    /// `unknown-key`; a trusted key's signature that fails is `bad-signature`; otherwise
    /// `good-signature`.
    /// - Complexity: O(parameters) for the identity, plus one Ed25519 verification per trusted
    ///   signature.
    public static func verify(_ file: FFFFile, trustedKeys: [PublicKey]) -> Verdict {
        guard let section = file.model.signatures else { return .unsigned }
        let digests = ProvenanceDigests(of: file)
        let changes = digests.changes(since: section)
        if !changes.isEmpty {
            return .badSignature(reason: changes.joined(separator: "; "))
        }
        let trusted = Dictionary(trustedKeys.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        let checkable = section.signatures.filter { $0.algorithm == SignatureSection.Signature.ed25519 && trusted[$0.keyID] != nil }
        guard !checkable.isEmpty else {
            return .unknownKey(fileKeyIDs: section.signatures.map { signature in
                Hex.string(signature.keyID) + (signature.algorithm == SignatureSection.Signature.ed25519 ? "" : " (algorithm \(signature.algorithm), not checkable)")
            })
        }
        let message = digests.signedMessage
        var good: [String] = []
        for signature in checkable {
            guard let key = trusted[signature.keyID] else { continue }
            if !key.isValidSignature(signature.signature, for: message) {
                return .badSignature(reason: "the signature by trusted key \(key.keyIDHex) does not verify: the file was altered after signing (its signature bytes or the digests it records), or the signature was forged")
            }
            good.append(key.keyIDHex)
        }
        return .goodSignature(keyIDs: good)
    }
}
