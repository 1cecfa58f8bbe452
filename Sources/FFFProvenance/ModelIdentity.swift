import Crypto
import FFFFormat

/// A model's identity: SHA-256 of its identity message (`IdentityMessage`), 32 bytes
/// shown as 64 lowercase hex digits. The same weights, shape and preprocessing give the same
/// identity whatever the codecs, levels, filters and ancillary sections of the file.
public struct ModelIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bytes of the digest.
    public let bytes: [UInt8]

    /// The identity of a validated file (`MODL` and `PREP` as stored).
    /// - Complexity: O(parameters).
    public init(of file: FFFFile) {
        var hasher = SHA256()
        file.forEachIdentityPiece { hasher.update(bufferPointer: $0) }
        bytes = Array(hasher.finalize())
    }

    /// The identity of the file `FFFWriter` writes for `model`.
    /// - Complexity: O(parameters).
    public init(of model: FFFModel) {
        var hasher = SHA256()
        model.forEachIdentityPiece { hasher.update(bufferPointer: $0) }
        bytes = Array(hasher.finalize())
    }

    /// An identity from its 64 hex digits (either case), or `nil`.
    public init?(hex: String) {
        guard let bytes = Hex.bytes(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// 64 lowercase hex digits.
    public var hex: String { Hex.string(bytes) }
    public var description: String { hex }
}
