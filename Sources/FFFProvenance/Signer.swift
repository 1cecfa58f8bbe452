import FFFFormat

/// Signs model files: adds (or replaces, for the same key) one Ed25519 signature in the file's
/// `SIGN` section, over the identity, the card digest and the labels digest computed from the
/// file. Every other section is kept byte for byte (`FFFWriter.replacingSignatures(in:with:)`),
/// so signing the same bytes with the same key always gives the same bytes.
public enum Signer {
    /// The bytes of the file `bytes` signed with `key`.
    ///
    /// - Parameters:
    ///   - bytes: a model file; it must be valid.
    ///   - key: the signer's private key.
    ///   - dropStale: when the file's existing signatures were made for other digests (the
    ///     model, card or labels changed since), remove them instead of refusing.
    /// - Throws: ``SigningError``.
    /// - Complexity: O(file size + parameters).
    public static func sign(_ bytes: [UInt8], with key: SigningKey, dropStale: Bool = false) throws(SigningError) -> [UInt8] {
        let file: FFFFile
        do {
            file = try FFFReader.readFile(bytes: bytes)
        } catch {
            throw .invalidFile(error)
        }
        let digests = ProvenanceDigests(of: file)
        var kept: [SignatureSection.Signature] = file.model.signatures?.signatures ?? []
        if let existing = file.model.signatures {
            let changes = digests.changes(since: existing)
            if !changes.isEmpty {
                guard dropStale else {
                    throw .staleSignatures(changes: changes, keyIDs: existing.signatures.map { Hex.string($0.keyID) })
                }
                kept = []
            }
        }
        let signature: SignatureSection.Signature
        do {
            signature = try SignatureSection.Signature(algorithm: SignatureSection.Signature.ed25519, keyID: key.publicKey.keyID,
                                                       signature: key.signature(for: digests.signedMessage))
        } catch {
            throw .signingFailed("\(error)")
        }
        if let index = kept.firstIndex(where: { $0.keyID == signature.keyID }) {
            kept[index] = signature
        } else {
            guard kept.count < SignatureSection.maxSignatures else { throw .tooManySignatures }
            kept.append(signature)
        }
        do {
            let section = try SignatureSection(identity: digests.identity.bytes, cardDigest: digests.card,
                                               labelsDigest: digests.labels, signatures: kept)
            return try FFFWriter.replacingSignatures(in: bytes, with: section)
        } catch {
            throw .invalidFile(error)
        }
    }
}
