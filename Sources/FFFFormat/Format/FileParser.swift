/// Validates and decodes one file in exactly the order of spec/FORMAT.md §16, so that the first
/// error reported is the one every conforming implementation reports.
///
/// Nothing is allocated from a declared size before that size has been checked against the
/// file, the spec's limits and the reader's budget; every read is bounds-checked (`ByteReader`)
/// and every size computation overflow-checked.
struct FileParser {
    static let magic: [UInt8] = [0x89, 0x46, 0x46, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    static let headerSize = 32
    static let trailerSize = 8
    static let implementedMajor = 1
    /// 1.1: compact element types (float16, bfloat16, int8-row) in `MODL` bytes 25 and 26.
    /// 1.2: the `CARD` and `SIGN` sections.
    static let implementedMinor = 2

    /// The most bytes a header and a table of the largest section count take.
    static let maxTableEnd = headerSize + SectionEntry.size * FormatLimits.maxSectionCount + trailerSize
    private let source: FileSource
    /// The file's length.
    private let size: Int
    /// Over the first `min(size, maxTableEnd)` bytes at least: all the header and table.
    private let reader: ByteReader
    /// Keeps `reader`'s bytes alive when they were read from a file.
    private let prefix: OwnedBuffer?
    private let options: FFFReader.Options
    private var minorVersion = 0
    private var entries: [SectionEntry] = []
    private var decoder: ZstdCodec.Decoder?
    private var workspace: OwnedBuffer?
    /// The decoded payloads provenance hashes as stored (`MODL`, `PREP`, `LABL`, `CARD`),
    /// filled by `parseModel`.
    private(set) var payloads = ProvenancePayloads()

    /// A parser of the file in `bytes`.
    init(_ bytes: UnsafeRawBufferPointer, options: FFFReader.Options) {
        source = .memory(bytes)
        size = bytes.count
        reader = ByteReader(bytes)
        prefix = nil
        self.options = options
    }

    /// A parser of the open regular file `file` of `length` bytes. Reads its header and table
    /// (at most `maxTableEnd` bytes) now and the rest piece by piece as it is checked.
    init(file: FileIO.InputFile, length: Int, options: FFFReader.Options) throws(FFFError) {
        source = .file(file, length: length)
        size = length
        let head = OwnedBuffer(count: min(length, Self.maxTableEnd))
        try source.read(at: 0, into: head.bytes)
        prefix = head
        reader = ByteReader(UnsafeRawBufferPointer(head.bytes))
        self.options = options
    }

    /// §2.2: a file of a newer minor version may use reserved fields; its padding stays zero.
    private var checksReserved: Bool { minorVersion <= Self.implementedMinor }

    // MARK: - Steps 1 ... 11: header, table, layout, checksums

    /// What the 32-byte header declares, once §16 steps 1 ... 5 have passed.
    struct Header {
        let majorVersion: Int
        let minorVersion: Int
        let sectionCount: Int
        let declaredLength: UInt64
        /// `32 + 40 * count + 8`: where the first section starts.
        var tableEnd: Int { FileParser.headerSize + SectionEntry.size * sectionCount + FileParser.trailerSize }
    }

    /// §16 steps 1 ... 5: magic, header size, version, header checksum, flags, section count.
    /// They depend on the first 32 bytes only, so a file reader can run them before reading on.
    /// What a file that is not FFF looks like, when its first bytes tell: a checkpoint given
    /// where a model is expected is the common case, and the fix is to convert it.
    private func foreignKindHint() -> String {
        func starts(_ magic: [UInt8]) -> Bool {
            size >= magic.count && magic.indices.allSatisfy { reader.bytes[$0] == magic[$0] }
        }
        let convert = "convert it first: tools/fff-convert CHECKPOINT -o model.fff"
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "; this is a zip archive, a PyTorch checkpoint (.pt)? Then \(convert)" }
        if size >= 2 && reader.bytes[0] == 0x80 && (2...5).contains(reader.bytes[1]) {
            return "; this is a Python pickle, a legacy PyTorch checkpoint? Then \(convert)"
        }
        if starts([0x1F, 0x8B]) { return "; this is gzip-compressed: an FFF file compresses its own sections, so decompress it with gunzip first" }
        return ""
    }

    mutating func parseHeader() throws(FFFError) -> Header {
        // 1. Magic.
        for i in 0..<min(8, size) where reader.bytes[i] != Self.magic[i] {
            throw FFFError(.badMagic, "byte \(i) is \(hex(reader.bytes[i])), expected \(hex(Self.magic[i])); an FFF file starts with 89 46 46 46 0D 0A 1A 0A"
                + foreignKindHint(), offset: i)
        }
        if size < 8 {
            throw FFFError(.truncated, "the file is \(size) bytes, shorter than the 8-byte magic", offset: size)
        }
        // 2. Header.
        if size < Self.headerSize {
            throw FFFError(.truncated, "the file is \(size) bytes, shorter than the 32-byte header", offset: size)
        }
        // 3. Version.
        let major = Int(reader.u16(at: 8) ?? 0)
        let minor = Int(reader.u16(at: 10) ?? 0)
        if major != Self.implementedMajor {
            throw FFFError(.unsupportedVersion, "major version is \(major); this reader implements version \(Self.implementedMajor)", offset: 8)
        }
        // 4. Header checksum.
        let headerChecksum = reader.u32(at: 28) ?? 0
        let computedHeader = CRC32.checksum(reader.slice(at: 0, length: 28) ?? UnsafeRawBufferPointer(start: nil, count: 0))
        if headerChecksum != computedHeader {
            throw FFFError(.checksumMismatch, "header checksum is \(hex32(headerChecksum)); bytes 0 ..< 28 give \(hex32(computedHeader))", offset: 28)
        }
        minorVersion = minor
        // 5. Header flags and section count.
        let headerFlags = reader.u32(at: 24) ?? 0
        if checksReserved, headerFlags != 0 {
            throw FFFError(.reservedNonzero, "header flags are \(hex32(headerFlags)); they are reserved and must be 0", offset: 24)
        }
        let count = Int(reader.u32(at: 12) ?? 0)
        if count == 0 {
            throw FFFError(.invalidValue, "section count is 0; a file has 1 ... \(FormatLimits.maxSectionCount) sections", offset: 12)
        }
        if count > FormatLimits.maxSectionCount {
            throw FFFError(.limitExceeded, "section count is \(count); the limit is \(FormatLimits.maxSectionCount)", offset: 12)
        }
        return Header(majorVersion: major, minorVersion: minor, sectionCount: count, declaredLength: reader.u64(at: 16) ?? 0)
    }

    /// Checks everything up to and including the section checksums (§16 steps 1 ... 11).
    mutating func parseLayout() throws(FFFError) -> FFFFileLayout {
        let header = try parseHeader()
        let (major, minor, count) = (header.majorVersion, header.minorVersion, header.sectionCount)
        // 6. File length.
        let tableEnd = header.tableEnd
        let declaredLength = header.declaredLength
        if UInt64(size) > declaredLength {
            throw FFFError(.trailingBytes, "\(UInt64(size) - declaredLength) bytes follow the declared file length \(declaredLength)", offset: Int(declaredLength))
        }
        if source.isFile, UInt64(size) > options.maxFileBytes {
            throw FFFError(.limitExceeded, "the file is \(size) bytes, larger than this reader's limit of \(options.maxFileBytes) bytes (FFFReader.Options.maxFileBytes)")
        }
        if UInt64(size) < declaredLength {
            throw FFFError(.truncated, "the file is \(size) bytes; its header declares \(declaredLength)", offset: size)
        }
        if size < tableEnd {
            throw FFFError(.truncated, "the file is \(size) bytes; its table of \(count) sections ends at \(tableEnd)", offset: size)
        }
        // 7. Table checksum and trailer.
        let tableBytes = reader.slice(at: Self.headerSize, length: SectionEntry.size * count) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        let tableChecksum = reader.u32(at: tableEnd - 8) ?? 0
        let computedTable = CRC32.checksum(tableBytes)
        if tableChecksum != computedTable {
            throw FFFError(.checksumMismatch, "table checksum is \(hex32(tableChecksum)); the \(count) entries give \(hex32(computedTable))", offset: tableEnd - 8)
        }
        let trailerReserved = reader.u32(at: tableEnd - 4) ?? 0
        if checksReserved, trailerReserved != 0 {
            throw FFFError(.reservedNonzero, "table trailer's reserved field is \(hex32(trailerReserved)); it must be 0", offset: tableEnd - 4)
        }
        // 8. Each entry's fields and layout.
        entries = (0..<count).map { SectionEntry(index: $0, reader: reader) }
        var previousEnd = tableEnd
        for entry in entries {
            try checkEntry(entry, expectedOffset: entry.index == 0 ? tableEnd : align8(previousEnd), previousEnd: previousEnd, fileLength: size)
            previousEnd = Int(entry.offset) + Int(entry.storedLength)  // proven <= size by checkEntry
        }
        // 9. Nothing after the last section.
        if previousEnd != size {
            let last = entries[entries.count - 1]
            throw FFFError(.badLayout, "the last section ends at \(previousEnd); the file length is \(size)", section: last.typeName, offset: last.storedLengthOffset)
        }
        // 10. Section types.
        if entries[0].typeName != KnownSection.modl.rawValue {
            throw FFFError(.missingSection, "the first section is \(entries[0].typeName); it must be MODL", section: entries[0].typeName, offset: entries[0].entryOffset)
        }
        var seen = Set<[UInt8]>()
        for entry in entries {
            if !seen.insert(entry.typeBytes).inserted {
                throw FFFError(.duplicateSection, "section \(entry.typeName) appears a second time (table entry \(entry.index))", section: entry.typeName, offset: entry.entryOffset)
            }
            if let known = entry.known {
                if known.isCritical != entry.isCritical {
                    throw FFFError(.invalidValue, "section \(entry.typeName) has its critical bit \(entry.isCritical ? "set" : "clear"); the spec defines it as \(known.isCritical ? "critical" : "ancillary")", section: entry.typeName, offset: entry.flagsOffset)
                }
            } else if entry.isCritical {
                throw FFFError(.unknownCriticalSection, "section type \(entry.typeName) is unknown to this reader and marked critical", section: entry.typeName, offset: entry.entryOffset)
            }
        }
        // 11. Section checksums.
        for entry in entries {
            let computed = try storedChecksum(of: entry)
            if computed != entry.checksum {
                throw FFFError(.checksumMismatch, "section checksum is \(hex32(entry.checksum)); its \(entry.storedLength) stored bytes give \(hex32(computed))", section: entry.typeName, offset: Int(entry.offset))
            }
        }
        return FFFFileLayout(
            majorVersion: major, minorVersion: minor, fileLength: size,
            sections: entries.map { entry in
                FFFSectionInfo(type: entry.typeName, isCritical: entry.isCritical, isKnown: entry.known != nil,
                               codec: entry.codec, filter: entry.filter, offset: Int(entry.offset),
                               storedLength: Int(entry.storedLength), decodedLength: Int(entry.decodedLength),
                               checksum: entry.checksum)
            })
    }

    /// §16 step 8 for one entry. On return, `offset + storedLength <= fileLength`.
    private func checkEntry(_ entry: SectionEntry, expectedOffset: Int, previousEnd: Int, fileLength: Int) throws(FFFError) {
        for (k, byte) in entry.typeBytes.enumerated() where !isTypeCharacter(byte) {
            throw FFFError(.invalidValue, "byte \(k) of the type of table entry \(entry.index) is \(hex(byte)); a type is four ASCII letters or digits", section: entry.typeName, offset: entry.entryOffset + k)
        }
        let type = entry.typeName
        if checksReserved, entry.flags & ~1 != 0 {
            throw FFFError(.reservedNonzero, "flags are \(hex32(entry.flags)); bits 1 ... 31 are reserved and must be 0", section: type, offset: entry.flagsOffset)
        }
        if checksReserved, entry.reserved != 0 {
            throw FFFError(.reservedNonzero, "the reserved byte of the table entry is \(hex(entry.reserved)); it must be 0", section: type, offset: entry.reservedOffset)
        }
        if SectionCodec(rawValue: entry.codecCode) == nil {
            throw FFFError(.unknownCodec, "codec is \(entry.codecCode); version 1.0 defines 0 (none) and 1 (zstd)", section: type, offset: entry.codecOffset)
        }
        switch entry.filterCode {
        case 0:
            if entry.filterUnit != 0 {
                throw FFFError(.invalidValue, "filter unit is \(entry.filterUnit) with filter none; it must be 0", section: type, offset: entry.filterUnitOffset)
            }
        case 1:
            if !ByteShuffle.units.contains(Int(entry.filterUnit)) {
                throw FFFError(.invalidValue, "filter unit is \(entry.filterUnit) with filter shuffle; it must be 2, 4 or 8", section: type, offset: entry.filterUnitOffset)
            }
        default:
            throw FFFError(.unknownFilter, "filter is \(entry.filterCode); version 1.0 defines 0 (none) and 1 (shuffle)", section: type, offset: entry.filterOffset)
        }
        if entry.decodedLength > FormatLimits.maxSectionBytes {
            throw FFFError(.limitExceeded, "decoded length is \(entry.decodedLength) bytes; the limit is \(FormatLimits.maxSectionBytes) (2^34)", section: type, offset: entry.decodedLengthOffset)
        }
        if entry.offset != UInt64(expectedOffset) {
            throw FFFError(.badLayout, "offset is \(entry.offset); expected \(expectedOffset) (\(entry.index == 0 ? "the end of the section table" : "the previous section's end rounded up to 8"))", section: type, offset: entry.offsetOffset)
        }
        if expectedOffset > fileLength || entry.storedLength > UInt64(fileLength - expectedOffset) {
            throw FFFError(.badLayout, "\(entry.storedLength) stored bytes from offset \(expectedOffset) run past the file length \(fileLength)", section: type, offset: entry.storedLengthOffset)
        }
        switch entry.codec {
        case .none where entry.storedLength != entry.decodedLength:
            throw FFFError(.badLayout, "stored length \(entry.storedLength) differs from decoded length \(entry.decodedLength) with codec none", section: type, offset: entry.storedLengthOffset)
        case .zstd where entry.storedLength == 0:
            throw FFFError(.badLayout, "stored length is 0 with codec zstd; a frame is at least 1 byte", section: type, offset: entry.storedLengthOffset)
        default:
            break
        }
        let padding = try source.bytes(at: previousEnd, count: expectedOffset - previousEnd)
        if let k = padding.firstIndex(where: { $0 != 0 }) {
            throw FFFError(.reservedNonzero, "padding byte before this section is \(hex(padding[k])); padding must be 0", section: type, offset: previousEnd + k)
        }
    }

    private func isTypeCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// The CRC-32 of a section's stored bytes, read piece by piece. Only after step 8 has proven
    /// them inside the file.
    private mutating func storedChecksum(of entry: SectionEntry) throws(FFFError) -> UInt32 {
        var crc: UInt32 = 0
        try source.forEachPiece(at: Int(entry.offset), count: Int(entry.storedLength), through: workspaceBuffer()) { piece, _ in
            crc = CRC32.update(crc, piece)
        }
        return crc
    }

    /// The reusable buffer for reading pieces of a file and unshuffling in place: the largest
    /// stored or decoded section, but at most `Options.workspaceLimit` (1 MiB), the "small
    /// constant" loading needs beyond the decoded sections (SECURITY.md). Valid after step 8.
    private mutating func workspaceBuffer() -> UnsafeMutableRawBufferPointer {
        if let workspace { return workspace.bytes }
        let largest = entries.reduce(16) { max($0, Int(min($1.storedLength, FormatLimits.maxSectionBytes)), Int(min($1.decodedLength, FormatLimits.maxSectionBytes))) }
        let buffer = OwnedBuffer(count: min(largest, max(1, options.workspaceLimit)))
        workspace = buffer
        return buffer.bytes
    }

    // MARK: - Steps 12 ... 15: the model

    /// Decodes and checks the model (§16 steps 12 ... 15). Call after `parseLayout`.
    mutating func parseModel() throws(FFFError) -> FFFModel {
        // 12. MODL.
        let modlEntry = entries[0]
        if modlEntry.decodedLength != UInt64(ModelHeader.payloadLength) {
            throw FFFError(.shapeMismatch, "MODL decodes to \(modlEntry.decodedLength) bytes; the model header is \(ModelHeader.payloadLength)", section: "MODL", offset: modlEntry.decodedLengthOffset)
        }
        let modlPayload = try decodeBytes(modlEntry)
        let header = try parseModelHeader(modlPayload, entry: modlEntry)
        payloads.modelHeader = modlPayload

        // 13. Presence, in §6's order.
        var byType: [KnownSection: SectionEntry] = [:]
        for entry in entries {
            if let known = entry.known { byType[known] = entry }
        }
        for section in KnownSection.allCases {
            let entry = byType[section]
            if entry == nil, header.requires(section) {
                throw FFFError(.missingSection, "section \(section.rawValue) is required by a model of depth \(header.depth) and master width \(header.masterWidth), and absent", section: section.rawValue)
            }
            if let entry, !header.allows(section) {
                let why = section == .nodw || section == .nodb ? "a depth-0 model has no nodes" : "the model has no master leaf (master width 0)"
                throw FFFError(.unexpectedSection, "section \(section.rawValue) is present but \(why)", section: section.rawValue, offset: entry.entryOffset)
            }
        }

        // 14. Decoded lengths against the header, filter units, then this reader's budget.
        for entry in entries {
            guard let known = entry.known, known != .modl else { continue }
            if known.isTensor {
                let expected = header.byteSize(of: known) ?? 0  // step 12 proved it exists
                if entry.decodedLength != UInt64(expected) {
                    let type = header.elementType(of: known)
                    let rows = type == .int8Row ? " (\(header.rowLayout(of: known)?.rows ?? 0) row scales, then one byte per element)" : ""
                    throw FFFError(.shapeMismatch, "\(known.rawValue) decodes to \(entry.decodedLength) bytes; its shape \(header.shape(of: known) ?? []) of \(type.name) needs \(expected)\(rows)", section: known.rawValue, offset: entry.decodedLengthOffset)
                }
            } else if known == .prep {
                // MODL implies two possible sizes: one scale and offset, or one per feature.
                let scalar = 8 + 8, perFeature = 8 + 8 * header.inputWidth
                if entry.decodedLength != UInt64(scalar), entry.decodedLength != UInt64(perFeature) {
                    throw FFFError(.shapeMismatch, "PREP decodes to \(entry.decodedLength) bytes; with input width \(header.inputWidth) it must be \(scalar) or \(perFeature)", section: known.rawValue, offset: entry.decodedLengthOffset)
                }
            }
            if case .shuffle(let unit) = entry.filter, entry.decodedLength % UInt64(unit) != 0 {
                throw FFFError(.invalidValue, "decoded length \(entry.decodedLength) is not a multiple of the shuffle unit \(unit)", section: known.rawValue, offset: entry.filterUnitOffset)
            }
        }
        // At most 1024 sections of 2^34 bytes: the sum cannot overflow.
        let total = entries.reduce(UInt64(0)) { $0 + ($1.known == nil ? 0 : $1.decodedLength) }
        if total > options.maxDecodedBytes {
            throw FFFError(.limitExceeded, "the known sections decode to \(total) bytes, over this reader's budget of \(options.maxDecodedBytes) bytes (FFFReader.Options.maxDecodedBytes)")
        }

        // 15. Decode and check each section's content, in table order.
        var tensors: [KnownSection: [Float]] = [:]
        var scales = RowScales()
        var quantized: [WeightTensor: [Int8]] = [:]
        var preprocessing: Preprocessing?
        var labels: [String]?
        var metadata: [MetadataEntry] = []
        var card: ModelCard?
        var signatures: SignatureSection?
        for entry in entries {
            guard let known = entry.known else { continue }
            switch known {
            case .modl:
                continue
            case .prep:
                let payload = try decodeBytes(entry)
                preprocessing = try parsePreprocessing(payload, entry: entry, header: header)
                payloads.preprocessing = payload
            case .labl:
                let payload = try decodeBytes(entry)
                labels = try parseLabels(payload, entry: entry, header: header)
                payloads.labels = payload
            case .meta:
                metadata = try parsePairs(try decodeBytes(entry), entry: entry, typed: false)
            case .card:
                let payload = try decodeBytes(entry)
                card = ModelCard(checked: try parsePairs(payload, entry: entry, typed: true))
                payloads.card = payload
            case .sign:
                let payload = try decodeBytes(entry)
                signatures = try payload.withBytes { raw throws(FFFError) in
                    try SignatureSection.parse(raw, checksReserved: checksReserved) { code, offset, message in
                        fieldError(code, entry, offset, message)
                    }
                }
            default:
                switch header.elementType(of: known) {
                case .float32:
                    tensors[known] = try decodeTensor(entry)
                case .float16, .bfloat16:
                    tensors[known] = try decodeTensor16(entry, type: header.elementType(of: known))
                case .int8Row:
                    guard let layout = header.rowLayout(of: known), let tensor = ModelHeader.weightTensor(known) else { continue }
                    let decoded = try decodeInt8Rows(entry, layout: layout)
                    tensors[known] = decoded.values
                    scales[tensor] = decoded.scales
                    quantized[tensor] = decoded.q
                }
            }
        }

        var master: MasterLeaf?
        if header.masterWidth > 0 {
            master = MasterLeaf(width: header.masterWidth,
                                hiddenWeights: tensors[.msw1] ?? [], hiddenBiases: tensors[.msb1] ?? [],
                                outputWeights: tensors[.msw2] ?? [], outputBiases: tensors[.msb2] ?? [],
                                mixingLogit: header.mixingLogit)
        }
        var model = try FFFModel(
            inputWidth: header.inputWidth, outputWidth: header.outputWidth, depth: header.depth,
            leafWidth: header.leafWidth, activation: header.activation, preprocessing: preprocessing,
            nodeWeights: tensors[.nodw] ?? [], nodeBiases: tensors[.nodb] ?? [],
            leafHiddenWeights: tensors[.lfw1] ?? [], leafHiddenBiases: tensors[.lfb1] ?? [],
            leafOutputWeights: tensors[.lfw2] ?? [], leafOutputBiases: tensors[.lfb2] ?? [],
            masterLeaf: master, labels: labels, metadata: metadata,
            weightType: header.weightType, nodeType: header.nodeType, decodedScales: scales, quantized: quantized)
        model.card = card
        model.signatures = signatures
        return model
    }

    /// §7, fields in table order, then the tensor sizes they imply (§15).
    private func parseModelHeader(_ payload: [UInt8], entry: SectionEntry) throws(FFFError) -> ModelHeader {
        func u32(_ at: Int) -> UInt32 {
            UInt32(payload[at]) | UInt32(payload[at + 1]) << 8 | UInt32(payload[at + 2]) << 16 | UInt32(payload[at + 3]) << 24
        }
        func fail(_ code: FFFErrorCode, _ payloadOffset: Int, _ message: String) -> FFFError {
            fieldError(code, entry, payloadOffset, message)
        }
        func width(_ name: String, _ at: Int, min: UInt32, max: Int) throws(FFFError) -> Int {
            let value = u32(at)
            if value < min { throw fail(.invalidValue, at, "\(name) is \(value); it must be at least \(min)") }
            if value > max { throw fail(.limitExceeded, at, "\(name) is \(value); the limit is \(max)") }
            return Int(value)
        }
        // Unknown enumerants are unsupported-feature: a later writer's model, not a broken file.
        let kind = u32(0)
        if kind == 0 {
            throw fail(.invalidValue, 0, "layer kind is 0; version 1 defines 1 (fff)")
        }
        if kind != ModelHeader.layerKindFFF {
            throw fail(.unsupportedFeature, 0, "layer kind is \(kind); this reader implements only 1 (fff)")
        }
        let inputWidth = try width("input width", 4, min: 1, max: FormatLimits.maxInputWidth)
        let outputWidth = try width("output width", 8, min: 1, max: FormatLimits.maxOutputWidth)
        let depth = try width("depth", 12, min: 0, max: FormatLimits.maxDepth)
        let leafWidth = try width("leaf width", 16, min: 1, max: FormatLimits.maxLeafWidth)
        let masterWidth = try width("master width", 20, min: 0, max: FormatLimits.maxMasterWidth)
        guard let activation = Activation(rawValue: payload[24]) else {
            throw fail(.unsupportedFeature, 24, "activation is \(payload[24]); this reader implements 0 ... 6")
        }
        // Bytes 25 and 26 mean the same whatever the minor version (1.1).
        guard let weightType = ElementType(rawValue: payload[25]) else {
            throw fail(.unsupportedFeature, 25, "weight element type is \(payload[25]); this reader implements 0 (float32), 1 (float16), 2 (bfloat16) and 3 (int8-row)")
        }
        guard let nodeType = ElementType(rawValue: payload[26]) else {
            throw fail(.unsupportedFeature, 26, "node element type is \(payload[26]); this reader implements 0 (float32), 1 (float16), 2 (bfloat16) and 3 (int8-row)")
        }
        if nodeType != .float32, weightType == .float32 {
            throw fail(.invalidValue, 26, "node element type is \(nodeType.rawValue) (\(nodeType.name)) with weight element type 0 (float32); it must be 0: compact nodes need compact weights")
        }
        if nodeType != .float32, depth == 0 {
            throw fail(.invalidValue, 26, "node element type is \(nodeType.rawValue) (\(nodeType.name)) at depth 0; it must be 0: the model has no nodes")
        }
        if checksReserved, payload[27] != 0 {
            throw fail(.reservedNonzero, 27, "reserved byte 27 of MODL is \(hex(payload[27])); it must be 0")
        }
        let logitBits = u32(28)
        let logit = Float(bitPattern: logitBits)
        if !logit.isFinite {
            throw fail(.nonFiniteParameter, 28, "mixing logit k is \(logit); it must be finite")
        }
        if masterWidth == 0, logitBits != 0 {
            throw fail(.invalidValue, 28, "mixing logit k is \(logit) (\(hex32(logitBits))) without a master leaf; it must be +0.0")
        }
        if checksReserved, let nonzero = (32..<64).first(where: { payload[$0] != 0 }) {
            throw fail(.reservedNonzero, nonzero, "reserved bytes 32 ..< 64 of MODL must be 0; byte \(nonzero) is \(hex(payload[nonzero]))")
        }
        let header = ModelHeader(inputWidth: inputWidth, outputWidth: outputWidth, depth: depth, leafWidth: leafWidth,
                                 masterWidth: masterWidth, activation: activation, mixingLogit: logit,
                                 weightType: weightType, nodeType: nodeType)
        for section in KnownSection.allCases where section.isTensor && header.byteSize(of: section) == nil {
            throw FFFError(.limitExceeded, "tensor \(section.rawValue) of shape \(header.shape(of: section) ?? []) in \(header.elementType(of: section).name) would exceed \(FormatLimits.maxSectionBytes) bytes (2^34)", section: "MODL", offset: Int(entry.offset))
        }
        return header
    }

    /// §8.
    private func parsePreprocessing(_ payload: [UInt8], entry: SectionEntry, header: ModelHeader) throws(FFFError) -> Preprocessing {
        try payload.withBytes { raw throws(FFFError) in
            let p = ByteReader(raw)
            guard let count = p.u32(at: 0), let reserved = p.u32(at: 4) else {
                throw fieldError(.shapeMismatch, entry, 0, "PREP payload is \(raw.count) bytes; it needs at least 8 (count, reserved)")
            }
            if count != 1, count != UInt32(header.inputWidth) {
                throw fieldError(.invalidValue, entry, 0, "PREP count is \(count); it must be 1 or the input width \(header.inputWidth)")
            }
            let c = Int(count)
            if raw.count != 8 + 8 * c {
                throw fieldError(.shapeMismatch, entry, 0, "PREP payload is \(raw.count) bytes; count \(c) needs \(8 + 8 * c)")
            }
            if checksReserved, reserved != 0 {
                throw fieldError(.reservedNonzero, entry, 4, "PREP reserved field is \(hex32(reserved)); it must be 0")
            }
            let scale = floats(raw, from: 8, count: c)
            let offset = floats(raw, from: 8 + 4 * c, count: c)
            for (name, values, start) in [("scale", scale, 8), ("offset", offset, 8 + 4 * c)] {
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw fieldError(.nonFiniteParameter, entry, start + 4 * bad, "PREP \(name)[\(bad)] is \(values[bad]); it must be finite")
                }
            }
            return Preprocessing(scale: scale, offset: offset)
        }
    }

    /// §12.
    private func parseLabels(_ payload: [UInt8], entry: SectionEntry, header: ModelHeader) throws(FFFError) -> [String] {
        try payload.withBytes { raw throws(FFFError) in
            var p = ByteReader(raw)
            guard let count = p.readU32(), let reserved = p.readU32() else {
                throw fieldError(.shapeMismatch, entry, 0, "LABL payload is \(raw.count) bytes; it needs at least 8 (count, reserved)")
            }
            if count != UInt32(header.outputWidth) {
                throw fieldError(.shapeMismatch, entry, 0, "LABL count is \(count); the model has \(header.outputWidth) outputs")
            }
            if checksReserved, reserved != 0 {
                throw fieldError(.reservedNonzero, entry, 4, "LABL reserved field is \(hex32(reserved)); it must be 0")
            }
            var labels: [String] = []
            labels.reserveCapacity(min(Int(count), raw.count / 5))
            var seen = Set<[UInt8]>()
            for index in 0..<Int(count) {
                let start = p.position
                let bytes = try readString(&p, entry: entry, what: "label \(index)", range: 1 ... FormatLimits.maxLabelBytes)
                guard let label = String(validating: bytes, as: UTF8.self) else {
                    throw fieldError(.invalidValue, entry, start + 4, "label \(index) is not well-formed UTF-8")
                }
                if !seen.insert(Array(bytes)).inserted {
                    throw fieldError(.invalidValue, entry, start, "label \(index) '\(label)' duplicates an earlier label")
                }
                labels.append(label)
            }
            if p.remaining != 0 {
                throw fieldError(.shapeMismatch, entry, p.position, "\(p.remaining) bytes follow the last label")
            }
            return labels
        }
    }

    /// §13 for `META`, and the same structure for `CARD` (1.2) with, when `typed`, each listed
    /// key's value checked against its type right after that pair's structural checks
    /// (`invalid-value` at the value).
    private func parsePairs(_ payload: [UInt8], entry: SectionEntry, typed: Bool) throws(FFFError) -> [MetadataEntry] {
        let name = entry.typeName, what = typed ? "card" : "metadata"
        return try payload.withBytes { raw throws(FFFError) in
            var p = ByteReader(raw)
            guard let count = p.readU32(), let reserved = p.readU32() else {
                throw fieldError(.shapeMismatch, entry, 0, "\(name) payload is \(raw.count) bytes; it needs at least 8 (count, reserved)")
            }
            if count > UInt32(FormatLimits.maxMetadataPairs) {
                throw fieldError(.invalidValue, entry, 0, "\(name) count is \(count); at most \(FormatLimits.maxMetadataPairs) pairs")
            }
            if checksReserved, reserved != 0 {
                throw fieldError(.reservedNonzero, entry, 4, "\(name) reserved field is \(hex32(reserved)); it must be 0")
            }
            var pairs: [MetadataEntry] = []
            pairs.reserveCapacity(min(Int(count), raw.count / 9))
            var keys = Set<[UInt8]>()
            for index in 0..<Int(count) {
                let keyStart = p.position
                let keyBytes = try readString(&p, entry: entry, what: "\(what) key \(index)", range: 1 ... FormatLimits.maxMetadataKeyBytes)
                if !keyBytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
                    throw fieldError(.invalidValue, entry, keyStart + 4, "\(what) key \(index) must be printable ASCII (0x21 ... 0x7E), without spaces")
                }
                let key = String(decoding: keyBytes, as: UTF8.self)
                if !keys.insert(Array(keyBytes)).inserted {
                    throw fieldError(.invalidValue, entry, keyStart, "\(what) key '\(key)' appears twice")
                }
                let valueStart = p.position
                let valueBytes = try readString(&p, entry: entry, what: "the value of '\(key)'", range: 0 ... FormatLimits.maxMetadataValueBytes)
                guard let value = String(validating: valueBytes, as: UTF8.self) else {
                    throw fieldError(.invalidValue, entry, valueStart + 4, "the value of '\(key)' is not well-formed UTF-8")
                }
                if typed, let problem = ModelCard.typeProblem(key: key, value: value) {
                    throw fieldError(.invalidValue, entry, valueStart + 4, problem)
                }
                pairs.append(MetadataEntry(key: key, value: value))
            }
            if p.remaining != 0 {
                throw fieldError(.shapeMismatch, entry, p.position, "\(p.remaining) bytes follow the last \(what) pair")
            }
            return pairs
        }
    }

    /// A `u32` length and that many bytes. A missing length field is `shape-mismatch`; then the
    /// length must lie in `range` (`invalid-value`), then the bytes must fit (`shape-mismatch`),
    /// the order the Python reader uses too.
    private func readString(_ p: inout ByteReader, entry: SectionEntry, what: String, range: ClosedRange<Int>) throws(FFFError) -> UnsafeRawBufferPointer {
        let start = p.position
        guard let length = p.readU32() else {
            throw fieldError(.shapeMismatch, entry, start, "the length of \(what) runs past the end of the payload (\(p.remaining) bytes left)")
        }
        guard range.contains(Int(length)) else {
            throw fieldError(.invalidValue, entry, start, "\(what) is \(length) bytes; it must be \(range.lowerBound) ... \(range.upperBound)")
        }
        guard let bytes = p.readBytes(Int(length)) else {
            throw fieldError(.shapeMismatch, entry, start, "\(what) declares \(length) bytes; only \(p.remaining) remain in the payload")
        }
        return bytes
    }

    // MARK: - Decoding

    /// The section's payload as bytes. The decoded length has been checked against the budget.
    private mutating func decodeBytes(_ entry: SectionEntry) throws(FFFError) -> [UInt8] {
        try checkBeforeAllocating(entry)
        return try [UInt8](filling: Int(entry.decodedLength)) { buffer throws(FFFError) in try decode(entry, into: buffer) }
    }

    /// A tensor section as floats, checked finite (§11). Its length is a checked multiple of 4.
    private mutating func decodeTensor(_ entry: SectionEntry) throws(FFFError) -> [Float] {
        try checkBeforeAllocating(entry)
        var values = try [Float](filling: Int(entry.decodedLength) / 4) { buffer throws(FFFError) in try decode(entry, into: buffer) }
        #if _endian(big)
        values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        if let bad = FloatScan.firstNonFinite(values) {
            throw fieldError(.nonFiniteParameter, entry, 4 * bad, "\(entry.typeName)[\(bad)] is \(values[bad]); parameters must be finite")
        }
        return values
    }

    /// A float16 or bfloat16 tensor section (1.1) as the floats it holds (exact), checked
    /// finite: an element whose exponent bits are all ones is `non-finite-parameter`, first
    /// element first. Its decoded length is a checked multiple of 2. Decoded into the first half
    /// of the float array's own buffer and widened there, from the last element down: no other
    /// buffer.
    private mutating func decodeTensor16(_ entry: SectionEntry, type: ElementType) throws(FFFError) -> [Float] {
        try checkBeforeAllocating(entry)
        let count = Int(entry.decodedLength) / 2
        var bad: (index: Int, bits: UInt16)?
        let values = try [Float](filling: count) { buffer throws(FFFError) in
            try decode(entry, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0 ..< 2 * count]))
            guard let base = buffer.baseAddress else { return }
            for i in 0..<count {
                let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                if WeightEncoding.isNonFinite(bits, type) {
                    bad = (i, bits)
                    return
                }
            }
            var i = count - 1
            while i >= 0 {  // element i's 2 bytes are read before its 4 are written over them
                let bits = UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                let value = type == .float16 ? WeightEncoding.float(float16: bits) : WeightEncoding.float(bfloat16: bits)
                base.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self)
                i -= 1
            }
        }
        if let bad {
            let what = bad.bits & 0x03FF == 0 && type == .float16 || bad.bits & 0x007F == 0 && type == .bfloat16 ? "an infinity" : "a NaN"
            throw fieldError(.nonFiniteParameter, entry, 2 * bad.index, "\(entry.typeName)[\(bad.index)] is \(what) in \(type.name) (\(hex16(bad.bits)): exponent bits all ones); parameters must be finite")
        }
        return values
    }

    /// An int8-row tensor section (1.1): `f32 scale[R]` in row order, then `i8 q[count]`. Checks,
    /// in order, every scale (NaN or infinity `non-finite-parameter`; zero, -0.0 or negative
    /// `invalid-value`), then every q (-128 `invalid-value`). Returns the values
    /// `Float(scale * q)`, the scales and q. Its decoded length is `4 R + count` (step 14).
    private mutating func decodeInt8Rows(_ entry: SectionEntry, layout: RowLayout) throws(FFFError) -> WeightEncoding.Encoded {
        try checkBeforeAllocating(entry)
        let rows = layout.rows, count = layout.count
        var raw = try [Int8](filling: Int(entry.decodedLength)) { buffer throws(FFFError) in try decode(entry, into: buffer) }
        let scales: [Float] = raw.withUnsafeBytes { bytes in
            (0..<rows).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        for (r, scale) in scales.enumerated() {
            if !scale.isFinite {
                throw fieldError(.nonFiniteParameter, entry, 4 * r, "\(entry.typeName) scale of row \(r) is \(scale); scales must be finite")
            }
            if scale <= 0 || scale.bitPattern == 0x8000_0000 {
                throw fieldError(.invalidValue, entry, 4 * r, "\(entry.typeName) scale of row \(r) is \(scale) (\(hex32(scale.bitPattern))); scales must be greater than 0")
            }
        }
        raw.removeFirst(4 * rows)  // q, in place
        if let bad = raw.firstIndex(of: -128) {
            throw fieldError(.invalidValue, entry, 4 * rows + bad, "\(entry.typeName) q[\(bad)] is -128; int8-row values are -127 ... 127")
        }
        let (outer, reduced, inner) = (layout.outer, layout.reduced, layout.inner)
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            raw.withUnsafeBufferPointer { q in
                for a in 0..<outer {
                    for b in 0..<reduced {
                        let base = (a * reduced + b) * inner
                        for c in 0..<inner {
                            buffer[base + c] = WeightEncoding.dequantize(scale: scales[a * inner + c], q: q[base + c])
                        }
                    }
                }
            }
            initialized = count
        }
        return WeightEncoding.Encoded(values: values, scales: scales, q: raw)
    }

    /// Refuses a zstd section whose frame cannot yield its decoded length (wrong declared size,
    /// a skippable frame, a dictionary, an impossible expansion) before its payload buffer is
    /// allocated: the budget bounds what a file may declare, this bounds what its bytes can
    /// deliver. Needs only the frame header.
    private func checkBeforeAllocating(_ entry: SectionEntry) throws(FFFError) {
        guard entry.codec == .zstd else { return }
        let stored = Int(entry.storedLength)
        let head = try source.bytes(at: Int(entry.offset), count: min(stored, ZstdCodec.frameHeaderMaxSize))
        let failure = head.withUnsafeBytes { buffer -> ZstdCodec.Failure? in
            do throws(ZstdCodec.Failure) {
                try ZstdCodec.checkFrameHeader(buffer, storedLength: stored, decodedLength: Int(entry.decodedLength))
                return nil
            } catch {
                return error
            }
        }
        if let failure {
            throw FFFError(.decompressionFailed, failure.message, section: entry.typeName, offset: Int(entry.offset))
        }
    }

    /// Undoes the codec, then the filter, into `destination` (`decodedLength` bytes), with no
    /// other buffer than the workspace: stored bytes are read (or decompressed) straight into
    /// `destination` and unshuffled there.
    private mutating func decode(_ entry: SectionEntry, into destination: UnsafeMutableRawBufferPointer) throws(FFFError) {
        let offset = Int(entry.offset), storedLength = Int(entry.storedLength)
        let piece = workspaceBuffer()
        switch entry.codec {
        case .none:
            if case .memory(let bytes) = source, case .shuffle(let unit) = entry.filter {
                // Already in memory: unshuffle out of place, no copy first.
                ByteShuffle.unshuffle(UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + storedLength]), into: destination, unit: unit)
                return
            }
            try source.read(at: offset, into: destination)
            if source.isFile { try confirmUnchanged(entry, checksum: CRC32.checksum(UnsafeRawBufferPointer(destination))) }
        case .zstd:
            if decoder == nil { decoder = ZstdCodec.Decoder() }
            guard let decoder else {
                throw FFFError(.decompressionFailed, "could not create a Zstandard decoder (out of memory)", section: entry.typeName, offset: offset)
            }
            let checksumsPieces = source.isFile
            var crc: UInt32 = 0
            func failed(_ failure: ZstdCodec.Failure) -> FFFError {
                FFFError(.decompressionFailed, failure.message, section: entry.typeName, offset: offset)
            }
            do throws(ZstdCodec.Failure) {
                try decoder.start(into: destination, storedLength: storedLength)
            } catch {
                throw failed(error)
            }
            // On a failure, a file is still read to its end: if its checksum no longer holds,
            // the cause is the file changing, not a corrupt frame.
            var failure: ZstdCodec.Failure?
            try source.forEachPiece(at: offset, count: storedLength, through: piece) { bytes, isLast throws(FFFError) in
                if checksumsPieces { crc = CRC32.update(crc, bytes) }
                guard failure == nil else { return }
                do throws(ZstdCodec.Failure) {
                    try decoder.feed(bytes, isLast: isLast)
                } catch {
                    if !checksumsPieces { throw failed(error) }
                    failure = error
                }
            }
            if checksumsPieces { try confirmUnchanged(entry, checksum: crc) }
            if let failure { throw failed(failure) }
        }
        if case .shuffle(let unit) = entry.filter {
            ByteShuffle.unshuffleInPlace(destination, unit: unit, scratch: piece)
        }
    }

    /// A file is read twice: once for the checksums (step 11), once to decode. If it changed in
    /// between, what was decoded is not what was checked, so the read fails as `io-error`.
    /// Only for a file source: bytes in memory were checksummed where they still are.
    private func confirmUnchanged(_ entry: SectionEntry, checksum: UInt32) throws(FFFError) {
        guard checksum != entry.checksum else { return }
        throw FFFError(.ioError, "the file changed while it was being read: the stored bytes of \(entry.typeName) no longer match the checksum verified moments before", section: entry.typeName, offset: Int(entry.offset))
    }

    // MARK: - Helpers

    /// An error about a byte of a decoded payload: its exact file offset when the section is
    /// stored plain, otherwise the section's offset and the payload offset in the message.
    private func fieldError(_ code: FFFErrorCode, _ entry: SectionEntry, _ payloadOffset: Int, _ message: String) -> FFFError {
        if entry.codec == .none, entry.filter == .none {
            return FFFError(code, message, section: entry.typeName, offset: Int(entry.offset) + payloadOffset)
        }
        return FFFError(code, "\(message) (decoded payload byte \(payloadOffset))", section: entry.typeName, offset: Int(entry.offset))
    }

    private func floats(_ raw: UnsafeRawBufferPointer, from start: Int, count: Int) -> [Float] {
        let p = ByteReader(raw)
        return (0..<count).map { Float(bitPattern: p.u32(at: start + 4 * $0) ?? 0) }
    }

    private func align8(_ x: Int) -> Int { (x + 7) & ~7 }
}

func hex(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return "0x" + (digits.count == 1 ? "0" : "") + digits
}

func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
}

func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
