import FFFFormat

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
