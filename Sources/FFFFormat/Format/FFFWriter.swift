import CZstd

/// Writes FFF files (spec/FORMAT.md §18).
///
/// Sections come in §6's order: `MODL`, `PREP` (if the model has preprocessing), the node
/// sections (depth >= 1), the leaf sections, the master-leaf sections (if any), `LABL` (if the
/// model has labels), `META` (if it has metadata), `CARD` (if it has a card) and `SIGN` (if it
/// has signatures); `CARD` and `SIGN` always with codec none and no filter. Every reserved field
/// and padding byte is zero and every checksum is computed last.
///
/// Output is deterministic: the same model, options and libzstd version give the same bytes, so
/// writing, reading and writing again reproduces the file exactly.
public enum FFFWriter {
    /// How sections are encoded.
    public struct Options: Sendable {
        /// The codec of every section (`MODL` included).
        public var codec: SectionCodec
        /// The Zstandard level for `.zstd`, clamped to libzstd's range. The reference writers use 19.
        public var level: Int
        /// Byte-shuffle the tensor sections (§9 ... §11) before the codec: float32 ones with unit
        /// 4, float16 and bfloat16 ones with unit 2. int8-row sections are never filtered.
        public var shuffle: Bool

        public init(codec: SectionCodec = .zstd, level: Int = 19, shuffle: Bool = true) {
            self.codec = codec
            self.level = level
            self.shuffle = shuffle
        }
    }

    /// The bytes of a file holding `model`: minor version 2 when it has a card or signatures
    /// (format 1.2), else 1 when its weights are stored in a compact type (format 1.1),
    /// otherwise 0, byte for byte a 1.0 file.
    ///
    /// Cannot fail: the model is valid by construction, its weights already encoded. If libzstd cannot allocate its context,
    /// the section concerned is stored with codec `none` (still a valid file).
    /// - Complexity: O(number of parameters), times zstd's cost per byte at `options.level`.
    public static func write(_ model: FFFModel, options: Options = Options()) -> [UInt8] {
        let level = Int32(clamping: min(max(options.level, Int(ZSTD_minCLevel())), Int(ZSTD_maxCLevel())))
        let sections = payloads(of: model).map { section, payload, unit in
            section == .card || section == .sign
                ? EncodedSection(type: section, stored: payload, decodedLength: payload.count, codec: .none, filterUnit: 0)
                : encode(section, payload, codec: options.codec, level: level, shuffleUnit: options.shuffle ? unit : 0)
        }
        return assemble(sections, minorVersion: minorVersion(of: model))
    }

    /// The minor version a writer gives a file of `model`: 2 with a card or signatures, 1 with
    /// compact weights, else 0.
    static func minorVersion(of model: FFFModel) -> Int {
        if model.card != nil || model.signatures != nil { return 2 }
        return model.weightType == .float32 ? 0 : 1
    }

    /// Writes `model` to `path` atomically: to a temporary file in the same directory, flushed,
    /// then renamed over `path`. A failed write leaves no partial file under `path`.
    /// - Throws: `FFFError` with code `io-error`.
    public static func write(_ model: FFFModel, to path: String, options: Options = Options()) throws(FFFError) {
        try FileIO.writeAtomically(write(model, options: options), to: path)
    }

    /// One encoded section, ready to be laid out.
    private struct EncodedSection {
        let type: KnownSection
        let stored: [UInt8]
        let decodedLength: Int
        let codec: SectionCodec
        let filterUnit: UInt8  // 0: no filter
    }

    /// The decoded payload of every section the model needs, in §6's order, with the shuffle
    /// unit the section takes when shuffling is asked (0: never shuffled).
    private static func payloads(of model: FFFModel) -> [(KnownSection, [UInt8], Int)] {
        var result: [(KnownSection, [UInt8], Int)] = []
        result.append((.modl, modelHeaderPayload(of: model), 0))
        if let prep = preprocessingPayload(of: model) { result.append((.prep, prep, 0)) }
        func tensor(_ type: KnownSection, _ values: [Float]) {
            var writer = ByteWriter()
            writer.floats(values)
            result.append((type, writer.bytes, 4))
        }
        func weights(_ type: KnownSection, _ tensor: WeightTensor) {
            let values = model.weights(of: tensor)
            var writer = ByteWriter()
            switch model.elementType(of: tensor) {
            case .float32:
                writer.floats(values)
                result.append((type, writer.bytes, 4))
            case .float16:
                // The model holds decoded float16 values: re-encoding them is exact.
                writer.bytes.reserveCapacity(2 * values.count)
                for value in values { writer.u16(WeightEncoding.float16Bits(value)) }
                result.append((type, writer.bytes, 2))
            case .bfloat16:
                writer.bytes.reserveCapacity(2 * values.count)
                for value in values { writer.u16(WeightEncoding.bfloat16Bits(value)) }
                result.append((type, writer.bytes, 2))
            case .int8Row:
                let scales = model.rowScales[tensor]
                let q = model.int8Values(of: tensor) ?? []
                writer.bytes.reserveCapacity(4 * scales.count + q.count)
                writer.floats(scales)
                q.withUnsafeBytes { writer.bytes.append(contentsOf: $0) }
                result.append((type, writer.bytes, 0))
            }
        }
        if model.depth >= 1 {
            weights(.nodw, .nodes)
            tensor(.nodb, model.nodeBiases)
        }
        weights(.lfw1, .leafHidden)
        tensor(.lfb1, model.leafHiddenBiases)
        weights(.lfw2, .leafOutput)
        tensor(.lfb2, model.leafOutputBiases)
        if let master = model.masterLeaf {
            weights(.msw1, .masterHidden)
            tensor(.msb1, master.hiddenBiases)
            weights(.msw2, .masterOutput)
            tensor(.msb2, master.outputBiases)
        }
        if let labl = labelsPayload(of: model) { result.append((.labl, labl, 0)) }
        if !model.metadata.isEmpty {
            var meta = ByteWriter()
            meta.u32(UInt32(model.metadata.count))
            meta.u32(0)
            for entry in model.metadata {
                meta.string(entry.key)
                meta.string(entry.value)
            }
            result.append((.meta, meta.bytes, 0))
        }
        if let card = model.card { result.append((.card, card.payload, 0)) }
        if let signatures = model.signatures { result.append((.sign, signatures.payload, 0)) }
        return result
    }

    /// The 64-byte `MODL` payload of `model` (§7), reserved bytes zero.
    static func modelHeaderPayload(of model: FFFModel) -> [UInt8] {
        var header = ByteWriter()
        header.u32(ModelHeader.layerKindFFF)
        header.u32(UInt32(model.inputWidth))
        header.u32(UInt32(model.outputWidth))
        header.u32(UInt32(model.depth))
        header.u32(UInt32(model.leafWidth))
        header.u32(UInt32(model.masterLeaf?.width ?? 0))
        header.u8(model.activation.rawValue)
        header.u8(model.weightType.rawValue)
        header.u8(model.nodeType.rawValue)
        header.u8(0)
        header.f32(model.masterLeaf?.mixingLogit ?? 0)
        header.zeros(32)
        return header.bytes
    }

    /// The `PREP` payload (§8), or `nil` for a model without preprocessing.
    static func preprocessingPayload(of model: FFFModel) -> [UInt8]? {
        guard let preprocessing = model.preprocessing else { return nil }
        var prep = ByteWriter()
        prep.u32(UInt32(preprocessing.scale.count))
        prep.u32(0)
        prep.floats(preprocessing.scale)
        prep.floats(preprocessing.offset)
        return prep.bytes
    }

    /// The `LABL` payload (§12), or `nil` for a model without labels.
    static func labelsPayload(of model: FFFModel) -> [UInt8]? {
        guard let labels = model.labels else { return nil }
        var labl = ByteWriter()
        labl.u32(UInt32(labels.count))
        labl.u32(0)
        for label in labels { labl.string(label) }
        return labl.bytes
    }

    private static func encode(_ type: KnownSection, _ payload: [UInt8], codec: SectionCodec, level: Int32, shuffleUnit: Int) -> EncodedSection {
        let filtered = shuffleUnit != 0 ? ByteShuffle.shuffled(payload, unit: shuffleUnit) : payload
        let filterUnit = UInt8(shuffleUnit)
        if codec == .zstd, let frame = filtered.withUnsafeBytes({ ZstdCodec.compress($0, level: level) }) {
            return EncodedSection(type: type, stored: frame, decodedLength: payload.count, codec: .zstd, filterUnit: filterUnit)
        }
        return EncodedSection(type: type, stored: filtered, decodedLength: payload.count, codec: .none, filterUnit: filterUnit)
    }

    /// Header, table, trailer, then each section padded to a multiple of 8 (§3.3).
    private static func assemble(_ sections: [EncodedSection], minorVersion: Int) -> [UInt8] {
        let tableEnd = FileParser.headerSize + SectionEntry.size * sections.count + FileParser.trailerSize
        var offsets: [Int] = []
        var end = tableEnd
        for (index, section) in sections.enumerated() {
            let offset = index == 0 ? tableEnd : (end + 7) & ~7
            offsets.append(offset)
            end = offset + section.stored.count
        }
        var out = ByteWriter()
        out.bytes.reserveCapacity(end)
        out.bytes.append(contentsOf: FileParser.magic)
        out.u16(UInt16(FileParser.implementedMajor))
        out.u16(UInt16(minorVersion))
        out.u32(UInt32(sections.count))
        out.u64(UInt64(end))
        out.u32(0)
        out.u32(CRC32.checksum(out.bytes))

        for (section, offset) in zip(sections, offsets) {
            out.bytes.append(contentsOf: section.type.bytes)
            out.u32(section.type.isCritical ? 1 : 0)
            out.u64(UInt64(offset))
            out.u64(UInt64(section.stored.count))
            out.u64(UInt64(section.decodedLength))
            out.u8(section.codec.rawValue)
            out.u8(section.filterUnit == 0 ? 0 : 1)
            out.u8(section.filterUnit)
            out.u8(0)
            out.u32(CRC32.checksum(section.stored))
        }
        let tableChecksum = out.bytes.withUnsafeBytes {
            CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[FileParser.headerSize ..< tableEnd - FileParser.trailerSize]))
        }
        out.u32(tableChecksum)
        out.u32(0)

        for (section, offset) in zip(sections, offsets) {
            out.zeros(offset - out.bytes.count)
            out.bytes.append(contentsOf: section.stored)
        }
        return out.bytes
    }
}
