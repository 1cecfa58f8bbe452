import Crypto
import FFFFormat

/// The three digests a signature covers, computed from a file: its identity, and SHA-256 of its
/// `CARD` and `LABL` payloads (32 zero bytes for a section the file does not have).
public struct ProvenanceDigests: Sendable, Equatable {
    public let identity: ModelIdentity
    public let card: [UInt8]
    public let labels: [UInt8]

    /// The digests of a validated file.
    /// - Complexity: O(parameters + card and labels bytes).
    public init(of file: FFFFile) {
        identity = ModelIdentity(of: file)
        card = Self.digest(file.cardPayload)
        labels = Self.digest(file.labelsPayload)
    }

    /// The digests of the file `FFFWriter` writes for `model`.
    public init(of model: FFFModel) {
        identity = ModelIdentity(of: model)
        card = Self.digest(model.cardPayload)
        labels = Self.digest(model.labelsPayload)
    }

    /// SHA-256 of `payload`, or 32 zero bytes for `nil`.
    static func digest(_ payload: [UInt8]?) -> [UInt8] {
        guard let payload else { return [UInt8](repeating: 0, count: 32) }
        return Array(SHA256.hash(data: payload))
    }

    /// The 104-byte message Ed25519 signs for these digests.
    public var signedMessage: [UInt8] {
        SignatureSection.signedMessage(identity: identity.bytes, cardDigest: card, labelsDigest: labels)
    }

    /// What differs between these (computed) digests and those a `SIGN` section recorded, in
    /// words, one phrase per digest; empty when they all agree.
    public func changes(since section: SignatureSection) -> [String] {
        var changes: [String] = []
        if section.identity != identity.bytes {
            changes.append("the model's weights/shape/preprocessing changed since it was signed (identity \(identity.hex), signed \(Hex.string(section.identity)))")
        }
        if section.cardDigest != card {
            changes.append("the model card changed since it was signed")
        }
        if section.labelsDigest != labels {
            changes.append("the labels changed since they were signed")
        }
        return changes
    }
}
