/// One entry of a file's section table (spec/FORMAT.md §3), as a reader found it.
public struct FFFSectionInfo: Sendable, Equatable {
    /// The four-character type, for example `LFW1`.
    public let type: String
    /// Bit 0 of the entry's flags: a reader that does not know the type must reject the file.
    public let isCritical: Bool
    /// Whether this reader (format 1.2) defines this type (unknown ancillary sections are skipped).
    public let isKnown: Bool
    public let codec: SectionCodec
    public let filter: SectionFilter
    /// Where the stored bytes start in the file.
    public let offset: Int
    /// Bytes in the file, padding excluded.
    public let storedLength: Int
    /// Bytes of the payload once decoded.
    public let decodedLength: Int
    /// CRC-32 of the stored bytes.
    public let checksum: UInt32

    /// `decodedLength / storedLength`; 1 for an empty section.
    public var compressionRatio: Double {
        storedLength == 0 ? 1 : Double(decodedLength) / Double(storedLength)
    }
}
