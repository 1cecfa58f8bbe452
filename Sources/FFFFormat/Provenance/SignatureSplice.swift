extension FFFWriter {
    /// The bytes of the valid file `bytes` with its `SIGN` section replaced by `signatures`
    /// (removed when `nil`), every other section kept byte for byte: same stored bytes, codecs,
    /// filters, checksums and table order. A new `SIGN` section takes the old one's place in the
    /// table, or goes last when there was none; it is stored with codec none and no filter.
    /// The header's minor version becomes at least 2 when `signatures` is given; its other
    /// fields, and the table trailer's, are kept. Lengths, offsets and checksums are
    /// recomputed.
    ///
    /// Signing edits a file this way rather than rewriting it, so the result does not depend on
    /// the Zstandard version, and the identity, the card and the labels stay as they were.
    /// - Throws: `FFFError`: the file's first problem when it is invalid; `limit-exceeded`
    ///   when adding the section would exceed 1024 sections.
    /// - Complexity: O(file size) (the file is validated first).
    public static func replacingSignatures(in bytes: [UInt8], with signatures: SignatureSection?) throws(FFFError) -> [UInt8] {
        let layout = try FFFReader.readFile(bytes: bytes).layout
        let header = FileParser.headerSize
        struct Piece {
            var entry: [UInt8]
            var stored: ArraySlice<UInt8>
        }
        var pieces: [Piece] = []
        var replaced = false
        let newSign: Piece? = signatures.map { section in
            let payload = section.payload
            var entry = ByteWriter()
            entry.bytes.append(contentsOf: KnownSection.sign.bytes)
            entry.u32(0)  // ancillary
            entry.u64(0)  // offset, set below
            entry.u64(UInt64(payload.count))
            entry.u64(UInt64(payload.count))
            entry.zeros(4)  // codec none, filter none, unit 0, reserved
            entry.u32(CRC32.checksum(payload))
            return Piece(entry: entry.bytes, stored: payload[...])
        }
        for (index, section) in layout.sections.enumerated() {
            if section.type == KnownSection.sign.rawValue {
                replaced = true
                if let newSign { pieces.append(newSign) }
                continue
            }
            let at = header + SectionEntry.size * index
            pieces.append(Piece(entry: Array(bytes[at ..< at + SectionEntry.size]),
                                stored: bytes[section.offset ..< section.offset + section.storedLength]))
        }
        if !replaced, let newSign { pieces.append(newSign) }
        if pieces.count > FormatLimits.maxSectionCount {
            throw FFFError(.limitExceeded, "the file has \(layout.sections.count) sections; a SIGN section would exceed the limit of \(FormatLimits.maxSectionCount)", offset: 12)
        }
        let tableEnd = header + SectionEntry.size * pieces.count + FileParser.trailerSize
        var end = tableEnd
        for index in pieces.indices {
            let offset = index == 0 ? tableEnd : (end + 7) & ~7
            for k in 0..<8 { pieces[index].entry[8 + k] = UInt8(truncatingIfNeeded: UInt64(offset) >> (8 * k)) }
            end = offset + pieces[index].stored.count
        }
        var out = ByteWriter()
        out.bytes.reserveCapacity(end)
        out.bytes.append(contentsOf: bytes[0 ..< header])
        let minor = signatures == nil ? layout.minorVersion : max(layout.minorVersion, 2)
        out.bytes[10] = UInt8(truncatingIfNeeded: minor)
        out.bytes[11] = UInt8(truncatingIfNeeded: minor >> 8)
        out.patchU32(UInt32(pieces.count), at: 12)
        for k in 0..<8 { out.bytes[16 + k] = UInt8(truncatingIfNeeded: UInt64(end) >> (8 * k)) }
        let headerChecksum = out.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[0 ..< 28])) }
        out.patchU32(headerChecksum, at: 28)
        for piece in pieces { out.bytes.append(contentsOf: piece.entry) }
        let tableChecksum = out.bytes.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[header ..< tableEnd - 8])) }
        out.u32(tableChecksum)
        let oldTableEnd = header + SectionEntry.size * layout.sections.count + FileParser.trailerSize
        out.bytes.append(contentsOf: bytes[oldTableEnd - 4 ..< oldTableEnd])  // the trailer's reserved field
        for piece in pieces {
            out.zeros((out.bytes.count + 7) & ~7 - out.bytes.count)
            out.bytes.append(contentsOf: piece.stored)
        }
        return out.bytes
    }
}
