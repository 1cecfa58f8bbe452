import FFFFormat

/// Why a file was not signed.
public enum SigningError: Error, Sendable, CustomStringConvertible {
    /// The file is not valid (its first problem, as the reader reports it).
    case invalidFile(FFFError)
    /// The file's `SIGN` section was made for other digests: its signatures no longer hold.
    /// `changes` says what changed; signing again needs `dropStale`, which removes them.
    case staleSignatures(changes: [String], keyIDs: [String])
    /// The file already holds 256 signatures by other keys.
    case tooManySignatures
    /// The cryptographic library failed to sign.
    case signingFailed(String)

    public var description: String {
        switch self {
        case .invalidFile(let error):
            "\(error)"
        case .staleSignatures(let changes, let keyIDs):
            "the file's \(keyIDs.count) signature(s) are stale: \(changes.joined(separator: "; ")); they would no longer verify. Sign with --drop-stale to remove them (key ids: \(keyIDs.joined(separator: ", ")))"
        case .tooManySignatures:
            "the file already holds \(SignatureSection.maxSignatures) signatures, the most a SIGN section holds"
        case .signingFailed(let reason):
            "signing failed: \(reason)"
        }
    }
}
