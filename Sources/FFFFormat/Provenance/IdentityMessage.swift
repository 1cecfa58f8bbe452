/// The message whose SHA-256 is a model's identity (spec/FORMAT.md, "Identity", format 1.2),
/// produced in pieces so that a hash can be computed outside this crypto-free module:
///
/// the 8 bytes `46 46 46 49 44 31 00 00` ("FFFID1", two zero bytes), then for every critical
/// section the file holds, in the order of §6's table (`MODL`, `PREP`, `NODW`, `NODB`, `LFW1`,
/// `LFB1`, `LFW2`, `LFB2`, `MSW1`, `MSB1`, `MSW2`, `MSB2`): its 4-byte type, its decoded length
/// as a `u64` little-endian, and its decoded payload in the element type the file stores.
///
/// Not covered: the header, the section table (codecs, filters, checksums), padding and every
/// ancillary section. So recompressing a file or editing its metadata keeps its identity.
public enum IdentityMessage {
    /// The first 8 bytes of the message.
    public static let prefix: [UInt8] = [0x46, 0x46, 0x46, 0x49, 0x44, 0x31, 0x00, 0x00]

    /// Elements encoded at a time for a 2-byte tensor (64 KiB of scratch).
    private static let chunkElements = 32768

    /// Feeds the message of `model` to `body`, with `MODL` and `PREP` payloads given (as a file
    /// stores them) and the tensors re-encoded from the model by the writer's encoders (exact:
    /// float32 bits as they are, float16/bfloat16 round-trip, int8-row scales then `q`).
    /// - Complexity: O(parameters); extra memory at most 64 KiB.
    static func feed(_ model: FFFModel, modelHeader: [UInt8], preprocessing: [UInt8]?,
                     into body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try prefix.withUnsafeBytes(body)
        func head(_ type: KnownSection, _ length: Int) throws {
            var writer = ByteWriter()
            writer.bytes.append(contentsOf: type.bytes)
            writer.u64(UInt64(length))
            try writer.bytes.withUnsafeBytes(body)
        }
        func floats(_ values: [Float]) throws {
            #if _endian(little)
            try values.withUnsafeBytes(body)
            #else
            var writer = ByteWriter()
            writer.floats(values)
            try writer.bytes.withUnsafeBytes(body)
            #endif
        }
        func bytes(_ type: KnownSection, _ payload: [UInt8]) throws {
            try head(type, payload.count)
            try payload.withUnsafeBytes(body)
        }
        func biases(_ type: KnownSection, _ values: [Float]) throws {
            try head(type, 4 * values.count)
            try floats(values)
        }
        func weights(_ type: KnownSection, _ tensor: WeightTensor) throws {
            let values = model.weights(of: tensor)
            switch model.elementType(of: tensor) {
            case .float32:
                try head(type, 4 * values.count)
                try floats(values)
            case .float16, .bfloat16:
                let half = model.elementType(of: tensor) == .float16
                try head(type, 2 * values.count)
                var start = 0
                var writer = ByteWriter()
                while start < values.count {
                    let end = min(values.count, start + chunkElements)
                    writer.bytes.removeAll(keepingCapacity: true)
                    for value in values[start..<end] {
                        writer.u16(half ? WeightEncoding.float16Bits(value) : WeightEncoding.bfloat16Bits(value))
                    }
                    try writer.bytes.withUnsafeBytes(body)
                    start = end
                }
            case .int8Row:
                let scales = model.rowScales[tensor]
                let q = model.int8Values(of: tensor) ?? []
                try head(type, 4 * scales.count + q.count)
                try floats(scales)
                try q.withUnsafeBytes(body)
            }
        }
        try bytes(.modl, modelHeader)
        if let preprocessing { try bytes(.prep, preprocessing) }
        if model.depth >= 1 {
            try weights(.nodw, .nodes)
            try biases(.nodb, model.nodeBiases)
        }
        try weights(.lfw1, .leafHidden)
        try biases(.lfb1, model.leafHiddenBiases)
        try weights(.lfw2, .leafOutput)
        try biases(.lfb2, model.leafOutputBiases)
        if let master = model.masterLeaf {
            try weights(.msw1, .masterHidden)
            try biases(.msb1, master.hiddenBiases)
            try weights(.msw2, .masterOutput)
            try biases(.msb2, master.outputBiases)
        }
    }
}

extension FFFFile {
    /// Feeds the identity message of this file to `body`, piece by piece in order; the SHA-256
    /// of their concatenation is the file's identity. `MODL` and `PREP` are hashed as the file
    /// stores them (reserved fields of a newer minor version included), the tensors as the
    /// model re-encodes them, which is exactly their decoded payload.
    ///
    /// Pieces are only valid during the call to `body`.
    /// - Complexity: O(parameters); at most 64 KiB of scratch.
    public func forEachIdentityPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try IdentityMessage.feed(model, modelHeader: payloads.modelHeader, preprocessing: payloads.preprocessing, into: body)
    }

    /// The decoded `LABL` payload as stored, or `nil` when the file has no labels: what the
    /// labels digest of a signature covers.
    public var labelsPayload: [UInt8]? { payloads.labels }

    /// The decoded `CARD` payload as stored, or `nil` when the file has no card: what the card
    /// digest of a signature covers.
    public var cardPayload: [UInt8]? { payloads.card }
}

extension FFFModel {
    /// Feeds the identity message of the file ``FFFWriter`` writes for this model to `body`,
    /// piece by piece in order (whatever the writer's codec, level or filter).
    /// - Complexity: O(parameters); at most 64 KiB of scratch.
    public func forEachIdentityPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try IdentityMessage.feed(self, modelHeader: FFFWriter.modelHeaderPayload(of: self),
                                 preprocessing: FFFWriter.preprocessingPayload(of: self), into: body)
    }

    /// The `LABL` payload a writer writes for this model, or `nil` without labels.
    public var labelsPayload: [UInt8]? { FFFWriter.labelsPayload(of: self) }

    /// The `CARD` payload a writer writes for this model, or `nil` without a card.
    public var cardPayload: [UInt8]? { card?.payload }
}
