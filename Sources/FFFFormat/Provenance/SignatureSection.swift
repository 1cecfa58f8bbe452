/// The `SIGN` section (spec/FORMAT.md, format 1.2): the digests a signer saw and up to 256
/// signatures over them. This type checks the structure only; checking signatures needs
/// cryptography, which the `FFFProvenance` module provides.
///
/// A value that exists is structurally valid: its initializers check every rule.
public struct SignatureSection: Sendable, Equatable {
    /// One signature: 104 bytes in the file.
    public struct Signature: Sendable, Equatable {
        /// 1 is Ed25519 (RFC 8032, pure). 2 ... 255 belong to later versions: valid, but not
        /// checkable by this version. Never 0.
        public let algorithm: UInt8
        /// SHA-256 of the signer's 32-byte raw public key.
        public let keyID: [UInt8]
        /// The 64-byte signature of the signed message.
        public let signature: [UInt8]

        /// The Ed25519 algorithm number.
        public static let ed25519: UInt8 = 1

        /// - Throws: `FFFError` `invalid-value` for algorithm 0, a key id that is not 32 bytes
        ///   or a signature that is not 64.
        public init(algorithm: UInt8, keyID: [UInt8], signature: [UInt8]) throws(FFFError) {
            guard algorithm != 0 else { throw FFFError(.invalidValue, "signature algorithm 0 is not defined", section: "SIGN") }
            guard keyID.count == 32, signature.count == 64 else {
                throw FFFError(.invalidValue, "a key id is 32 bytes and a signature 64; got \(keyID.count) and \(signature.count)", section: "SIGN")
            }
            self.algorithm = algorithm
            self.keyID = keyID
            self.signature = signature
        }
    }

    /// The most signatures a section holds.
    public static let maxSignatures = 256
    /// The bytes before the signatures: count, reserved, three 32-byte digests.
    static let headerSize = 104
    /// The bytes of one signature.
    static let signatureSize = 104

    /// The identity of the model signed (32 bytes).
    public let identity: [UInt8]
    /// SHA-256 of the `CARD` payload signed; 32 zero bytes when there was none.
    public let cardDigest: [UInt8]
    /// SHA-256 of the `LABL` payload signed; 32 zero bytes when there was none.
    public let labelsDigest: [UInt8]
    /// 1 ... 256 signatures with distinct key ids, in file order.
    public let signatures: [Signature]

    /// - Throws: `FFFError` `invalid-value`: a digest that is not 32 bytes, no signature or more
    ///   than 256, or two with the same key id.
    /// - Complexity: O(count^2) key id comparisons (count <= 256).
    public init(identity: [UInt8], cardDigest: [UInt8], labelsDigest: [UInt8], signatures: [Signature]) throws(FFFError) {
        guard identity.count == 32, cardDigest.count == 32, labelsDigest.count == 32 else {
            throw FFFError(.invalidValue, "the identity and the digests are 32 bytes each", section: "SIGN")
        }
        guard (1...Self.maxSignatures).contains(signatures.count) else {
            throw FFFError(.invalidValue, "\(signatures.count) signatures; a SIGN section holds 1 ... \(Self.maxSignatures)", section: "SIGN")
        }
        for (k, signature) in signatures.enumerated() where signatures[..<k].contains(where: { $0.keyID == signature.keyID }) {
            throw FFFError(.invalidValue, "signature \(k) repeats the key id of an earlier one", section: "SIGN")
        }
        self.identity = identity
        self.cardDigest = cardDigest
        self.labelsDigest = labelsDigest
        self.signatures = signatures
    }

    private init(unchecked identity: [UInt8], _ cardDigest: [UInt8], _ labelsDigest: [UInt8], _ signatures: [Signature]) {
        self.identity = identity
        self.cardDigest = cardDigest
        self.labelsDigest = labelsDigest
        self.signatures = signatures
    }

    /// The decoded payload as a writer writes it (reserved fields 0).
    /// - Complexity: O(count).
    public var payload: [UInt8] {
        var writer = ByteWriter()
        writer.bytes.reserveCapacity(Self.headerSize + Self.signatureSize * signatures.count)
        writer.u32(UInt32(signatures.count))
        writer.u32(0)
        writer.bytes += identity + cardDigest + labelsDigest
        for signature in signatures {
            writer.u8(signature.algorithm)
            writer.zeros(7)
            writer.bytes += signature.keyID + signature.signature
        }
        return writer.bytes
    }

    /// The 104-byte message Ed25519 signs: "FFFSIG1" and a zero byte, the identity, the card
    /// digest and the labels digest (each 32 bytes), as computed from the file.
    /// - Precondition: each argument is 32 bytes.
    public static func signedMessage(identity: [UInt8], cardDigest: [UInt8], labelsDigest: [UInt8]) -> [UInt8] {
        precondition(identity.count == 32 && cardDigest.count == 32 && labelsDigest.count == 32, "digests are 32 bytes")
        return [0x46, 0x46, 0x46, 0x53, 0x49, 0x47, 0x31, 0x00] + identity + cardDigest + labelsDigest
    }

    /// Parses a decoded payload with the reader's checks, in the spec's order: shorter than 104
    /// bytes (`shape-mismatch`); count outside 1 ... 256 (`invalid-value`); reserved
    /// (`reserved-nonzero`, unless `checksReserved` is false: a newer minor version); length
    /// not `104 + 104 count` (`shape-mismatch`); then per signature: algorithm 0
    /// (`invalid-value`), reserved bytes (`reserved-nonzero`), a repeated key id
    /// (`invalid-value`). `fail` turns a payload offset and a message into the error.
    static func parse(_ raw: UnsafeRawBufferPointer, checksReserved: Bool,
                      fail: (FFFErrorCode, Int, String) -> FFFError) throws(FFFError) -> SignatureSection {
        let p = ByteReader(raw)
        guard raw.count >= headerSize, let count32 = p.u32(at: 0), let reserved = p.u32(at: 4) else {
            throw fail(.shapeMismatch, 0, "SIGN payload is \(raw.count) bytes; it needs at least \(headerSize) (count, reserved, identity, card and labels digests)")
        }
        guard count32 >= 1, count32 <= UInt32(maxSignatures) else {
            throw fail(.invalidValue, 0, "SIGN count is \(count32); a SIGN section holds 1 ... \(maxSignatures) signatures")
        }
        if checksReserved, reserved != 0 {
            throw fail(.reservedNonzero, 4, "SIGN reserved field is \(hex32(reserved)); it must be 0")
        }
        let count = Int(count32)
        guard raw.count == headerSize + signatureSize * count else {
            throw fail(.shapeMismatch, 0, "SIGN payload is \(raw.count) bytes; \(count) signatures need \(headerSize + signatureSize * count)")
        }
        func bytes(_ at: Int, _ n: Int) -> [UInt8] { Array(raw[at ..< at + n]) }
        var signatures: [Signature] = []
        signatures.reserveCapacity(count)
        for k in 0..<count {
            let base = headerSize + signatureSize * k
            let algorithm = raw[base]
            if algorithm == 0 {
                throw fail(.invalidValue, base, "signature \(k) has algorithm 0; 1 is Ed25519")
            }
            if checksReserved, let nonzero = (1..<8).first(where: { raw[base + $0] != 0 }) {
                throw fail(.reservedNonzero, base + nonzero, "reserved byte \(nonzero) of signature \(k) is \(hex(raw[base + nonzero])); it must be 0")
            }
            let keyID = bytes(base + 8, 32)
            if let earlier = signatures.firstIndex(where: { $0.keyID == keyID }) {
                throw fail(.invalidValue, base + 8, "signature \(k) has the key id of signature \(earlier); each key signs once")
            }
            signatures.append(Signature(uncheckedAlgorithm: algorithm, keyID: keyID, signature: bytes(base + 40, 64)))
        }
        return SignatureSection(unchecked: bytes(8, 32), bytes(40, 32), bytes(72, 32), signatures)
    }
}

extension SignatureSection.Signature {
    fileprivate init(uncheckedAlgorithm algorithm: UInt8, keyID: [UInt8], signature: [UInt8]) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.signature = signature
    }
}
