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
