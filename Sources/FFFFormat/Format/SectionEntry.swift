/// One section table entry as read from the file (spec/FORMAT.md §3.1), with where it lives.
/// Fields are raw until the structural checks of §16 step 8 have passed.
struct SectionEntry {
    static let size = 40

    /// Position in the table.
    let index: Int
    /// File offset of the entry itself.
    let entryOffset: Int
    let typeBytes: [UInt8]
    let flags: UInt32
    let offset: UInt64
    let storedLength: UInt64
    let decodedLength: UInt64
    let codecCode: UInt8
    let filterCode: UInt8
    let filterUnit: UInt8
    let reserved: UInt8
    let checksum: UInt32

    var isCritical: Bool { flags & 1 != 0 }

    /// The type for messages: the four characters when they are printable, hex otherwise.
    var typeName: String {
        if typeBytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
            return String(decoding: typeBytes, as: UTF8.self)
        }
        return typeBytes.map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")
    }

    var known: KnownSection? { KnownSection(rawValue: typeName) }

    var codec: SectionCodec { SectionCodec(rawValue: codecCode) ?? .none }

    var filter: SectionFilter { filterCode == 1 ? .shuffle(unit: Int(filterUnit)) : .none }

    /// File offsets of the entry's fields, for error reports.
    var flagsOffset: Int { entryOffset + 4 }
    var offsetOffset: Int { entryOffset + 8 }
    var storedLengthOffset: Int { entryOffset + 16 }
    var decodedLengthOffset: Int { entryOffset + 24 }
    var codecOffset: Int { entryOffset + 32 }
    var filterOffset: Int { entryOffset + 33 }
    var filterUnitOffset: Int { entryOffset + 34 }
    var reservedOffset: Int { entryOffset + 35 }
    var checksumOffset: Int { entryOffset + 36 }

    init(index: Int, reader: ByteReader) {
        let base = 32 + SectionEntry.size * index
        self.index = index
        self.entryOffset = base
        // The caller has proven the whole table is inside the buffer; 0 is never used otherwise.
        self.typeBytes = (0..<4).map { reader.u8(at: base + $0) ?? 0 }
        self.flags = reader.u32(at: base + 4) ?? 0
        self.offset = reader.u64(at: base + 8) ?? 0
        self.storedLength = reader.u64(at: base + 16) ?? 0
        self.decodedLength = reader.u64(at: base + 24) ?? 0
        self.codecCode = reader.u8(at: base + 32) ?? 0
        self.filterCode = reader.u8(at: base + 33) ?? 0
        self.filterUnit = reader.u8(at: base + 34) ?? 0
        self.reserved = reader.u8(at: base + 35) ?? 0
        self.checksum = reader.u32(at: base + 36) ?? 0
    }
}
