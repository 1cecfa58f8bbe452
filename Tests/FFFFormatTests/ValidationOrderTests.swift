import Testing
@testable import FFFFormat

/// One test per rule of spec §16, each on a file (built by the independent test encoder) that
/// breaks that rule alone or breaks two rules to pin down which is reported first.
@Suite struct ValidationOrderTests {
    let model = RawModel()

    @Test func baselineIsValid() throws {
        #expect(readError(model.file.bytes) == nil)
        var withAll = RawModel(masterWidth: 2, mixingLogitBits: Float(0.5).bitPattern).file
        withAll.sections.insert(RawSection("PREP", RawModel.preprocessing(scale: [1, 2, 3], offset: [0, 0, 0])), at: 1)
        withAll.sections.append(RawSection("LABL", RawModel.labels([[0x61], [0x62]])))
        withAll.sections.append(RawSection("META", RawModel.metadata([(Array("k".utf8), [])])))
        #expect(readError(withAll.bytes) == nil)
    }

    // Steps 1, 2.
    @Test func magicAndShortFiles() {
        let magic: [UInt8] = [0x89, 0x46, 0x46, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        expectCode([], .truncated)
        expectCode(Array(magic[0..<3]), .truncated)
        expectCode([0x89, 0x46, 0x47], .badMagic)
        expectCode(Array("PK\u{3}\u{4}".utf8), .badMagic)
        expectCode(magic, .truncated)
        expectCode(magic + [UInt8](repeating: 0, count: 23), .truncated)
        var bytes = model.file.bytes
        bytes[3] = 0x0A
        let error = readError(bytes)
        #expect(error?.code == .badMagic)
        #expect(error?.offset == 3)
        var crlf = model.file.bytes
        crlf.remove(at: 4)  // a CR dropped by a line-ending conversion
        expectCode(crlf, .badMagic)
    }

    // Steps 3 ... 5.
    @Test func versionComesBeforeHeaderChecksum() {
        var file = model.file
        file.major = 2
        var bytes = file.bytes
        bytes[28] ^= 0xFF
        expectCode(bytes, .unsupportedVersion)
        bytes = model.file.bytes
        bytes[28] ^= 0xFF
        expectCode(bytes, .checksumMismatch)
    }

    @Test func headerFlagsAndCount() {
        var file = model.file
        file.headerFlags = 1
        expectCode(file.bytes, .reservedNonzero)
        file.minor = 1  // 1.1 and 1.2 are this reader's versions: reserved fields still 0
        expectCode(file.bytes, .reservedNonzero)
        file.minor = 2
        expectCode(file.bytes, .reservedNonzero)
        file.minor = 3  // §2.2: a newer minor version may use reserved fields
        #expect(readError(file.bytes) == nil)
        var zero = model.file
        zero.declaredCount = 0
        expectCode(zero.bytes, .invalidValue)
    }

    // Step 6.
    @Test func fileLength() {
        var longer = model.file
        longer.declaredLength = UInt64(model.file.bytes.count + 1)
        expectCode(longer.bytes, .truncated)
        var shorter = model.file
        shorter.declaredLength = UInt64(model.file.bytes.count - 1)
        expectCode(shorter.bytes, .trailingBytes)
        var belowTable = model.file
        belowTable.declaredLength = 40
        expectCode(belowTable.bytes, .trailingBytes)  // larger than declared wins (§16 step 6)
        expectCode(Array(belowTable.bytes[0..<40]), .truncated)  // as declared, but short of the table
        var belowHeader = model.file
        belowHeader.declaredLength = 8
        expectCode(belowHeader.bytes, .trailingBytes)
    }

    // Step 7.
    @Test func tableChecksumAndTrailer() {
        var file = model.file
        file.sections[0].flags = 3  // a reserved flag bit, and the table checksum is fine...
        var bytes = file.bytes
        bytes[32 + 40 * file.sections.count] ^= 1  // ...until the checksum is broken: it wins
        expectCode(bytes, .checksumMismatch)
        var trailer = model.file
        trailer.trailerReserved = 7
        expectCode(trailer.bytes, .reservedNonzero)
    }

    // Step 8, field by field in the spec's order.
    @Test func entryFields() {
        func with(_ change: (inout RawSection) -> Void, at index: Int = 2) -> [UInt8] {
            var file = model.file
            change(&file.sections[index])
            return file.bytes
        }
        expectCode(with({ $0.type = Array("LF-1".utf8) }), .invalidValue)
        expectCode(with({ $0.type = [0x4C, 0x46, 0x57, 0x00] }), .invalidValue)
        expectCode(with({ $0.flags = 0x8000_0001 }), .reservedNonzero)
        expectCode(with({ $0.reserved = 1 }), .reservedNonzero)
        expectCode(with({ $0.codec = 2 }), .unknownCodec)
        expectCode(with({ $0.filter = 2 }), .unknownFilter)
        expectCode(with({ $0.filter = 1; $0.unit = 3 }), .invalidValue)
        expectCode(with({ $0.filter = 1; $0.unit = 0 }), .invalidValue)
        expectCode(with({ $0.unit = 4 }), .invalidValue)
        expectCode(with({ $0.decodedLength = (1 << 34) + 1 }), .limitExceeded)
        expectCode(with({ $0.decodedLength += 4 }), .badLayout)       // codec none: stored != decoded
        expectCode(with({ $0.codec = 1; $0.stored = []; $0.decodedLength = 0 }), .badLayout)
        // Order inside the entry: the type is checked before the codec.
        expectCode(with({ $0.type = Array("LF 1".utf8); $0.codec = 9 }), .invalidValue)
        expectCode(with({ $0.codec = 9; $0.filter = 9 }), .unknownCodec)
        expectCode(with({ $0.filter = 9; $0.decodedLength = 1 << 40 }), .unknownFilter)
    }

    @Test func layoutOffsetsAndPadding() {
        // A section 8 bytes later than it must be (the gap is zero padding, the file consistent).
        var file = model.file
        var bytes = file.bytes
        let entry = 32 + 40 * 2
        let offset = Int(Raw.u64(bytes, at: entry + 8))
        bytes.insert(contentsOf: [UInt8](repeating: 0, count: 8), at: offset)
        for later in 2 ..< file.sections.count {
            Raw.put(Raw.u64(bytes, at: 32 + 40 * later + 8) + 8, into: &bytes, at: 32 + 40 * later + 8)
        }
        Raw.put(UInt64(bytes.count), into: &bytes, at: 16)
        Raw.rechecksum(&bytes)
        expectCode(bytes, .badLayout)

        file.padding = 0xAA
        let padded = file.bytes
        #expect(padded != model.file.bytes, "the test model must have padding")
        expectCode(padded, .reservedNonzero)
        file.minor = 1  // padding stays zero even for newer minor versions
        expectCode(file.bytes, .reservedNonzero)
    }

    // Step 9.
    @Test func lastSectionMustEndTheFile() {
        var bytes = model.file.bytes
        let last = 32 + 40 * (model.file.sections.count - 1)
        // Shrink the last section by 4 bytes, keeping the declared file length.
        Raw.put(Raw.u64(bytes, at: last + 16) - 4, into: &bytes, at: last + 16)
        Raw.put(Raw.u64(bytes, at: last + 24) - 4, into: &bytes, at: last + 24)
        Raw.rechecksum(&bytes)
        expectCode(bytes, .badLayout)
    }

    // Step 10.
    @Test func sectionTypes() {
        var notFirst = model.file
        notFirst.sections.swapAt(0, 1)
        expectCode(notFirst.bytes, .missingSection)
        var duplicate = model.file
        duplicate.sections.append(duplicate.sections[2])
        expectCode(duplicate.bytes, .duplicateSection)
        var unknownCritical = model.file
        unknownCritical.sections.append(RawSection("xTRN", [1, 2, 3], critical: true))
        expectCode(unknownCritical.bytes, .unknownCriticalSection)
        var wrongBit = model.file
        wrongBit.sections[3].flags = 0
        expectCode(wrongBit.bytes, .invalidValue)
        var ancillaryLabels = model.file
        ancillaryLabels.sections.append(RawSection("LABL", RawModel.labels([[0x61], [0x62]]), critical: true))
        expectCode(ancillaryLabels.bytes, .invalidValue)
        // Types are case-sensitive: "modl" is an unknown (critical) type, and MODL is not first.
        var lower = model.file
        lower.sections[0].type = Array("modl".utf8)
        expectCode(lower.bytes, .missingSection)
        // A duplicate is reported before a later unknown critical section.
        var both = model.file
        both.sections.append(both.sections[1])
        both.sections.append(RawSection("xTRN", [], critical: true))
        expectCode(both.bytes, .duplicateSection)
    }

    @Test func unknownAncillarySectionsAreSkipped() throws {
        var file = model.file
        // Not even a valid zstd frame: it is checksummed, never decoded.
        var junk = RawSection("xTRN", [0xDE, 0xAD, 0xBE, 0xEF, 0x01], critical: false)
        junk.codec = 1
        junk.decodedLength = 1 << 30
        file.sections.insert(junk, at: 2)
        let read = try FFFReader.readFile(bytes: file.bytes)
        #expect(read.layout.sections[2].type == "xTRN")
        #expect(read.layout.sections[2].isKnown == false)
        // ...but its checksum is checked (step 11).
        file.sections[2].checksum = 0
        expectCode(file.bytes, .checksumMismatch)
    }

    // Step 11.
    @Test func sectionChecksumsInTableOrder() {
        var file = model.file
        file.sections[3].checksum = 1
        let error = readError(file.bytes)
        #expect(error?.code == .checksumMismatch)
        #expect(error?.section == String(decoding: file.sections[3].type, as: UTF8.self))
    }

    // Step 12.
    @Test func modelHeader() {
        func header(_ change: (inout RawModel) -> Void) -> [UInt8] {
            var m = model
            change(&m)
            var file = model.file
            file.sections[0] = RawSection("MODL", m.modl)
            return file.bytes
        }
        var short = model.file
        short.sections[0] = RawSection("MODL", Array(model.modl[0..<60]))
        expectCode(short.bytes, .shapeMismatch)
        expectCode(header { $0.kind = 0 }, .invalidValue)
        expectCode(header { $0.kind = 2 }, .unsupportedFeature)           // a later layer kind
        expectCode(header { $0.kind = UInt32.max }, .unsupportedFeature)
        expectCode(header { $0.output = 0 }, .invalidValue)
        expectCode(header { $0.activation = 7 }, .unsupportedFeature)
        expectCode(header { $0.activation = 255 }, .unsupportedFeature)
        expectCode(header { $0.weightType = 4 }, .unsupportedFeature)
        expectCode(header { $0.weightType = 255 }, .unsupportedFeature)
        expectCode(header { $0.nodeType = 4 }, .unsupportedFeature)
        expectCode(header { $0.nodeType = 1 }, .invalidValue)  // compact nodes, float32 weights
        expectCode(header { $0.reserved27 = 1 }, .reservedNonzero)
        expectCode(header { $0.reservedTail[31] = 1 }, .reservedNonzero)
        expectCode(header { $0.mixingLogitBits = Float.nan.bitPattern }, .nonFiniteParameter)
        expectCode(header { $0.mixingLogitBits = Float.infinity.bitPattern }, .nonFiniteParameter)
        expectCode(header { $0.mixingLogitBits = Float(1).bitPattern }, .invalidValue)
        expectCode(header { $0.mixingLogitBits = 0x8000_0000 }, .invalidValue)  // -0.0 without master
        // Fields in table order: layer kind before widths, element type before the logit.
        expectCode(header { $0.kind = 9; $0.input = 0 }, .unsupportedFeature)
        expectCode(header { $0.input = 0; $0.activation = 9 }, .invalidValue)
        expectCode(header { $0.depth = 99; $0.activation = 200 }, .limitExceeded)
        expectCode(header { $0.weightType = 7; $0.mixingLogitBits = Float.nan.bitPattern }, .unsupportedFeature)
        // MODL stored as zstd with shuffle decodes like any section.
        var coded = model.file
        coded.sections[0] = RawSection("MODL", model.modl).shuffled(unit: 8).zstd()
        #expect(readError(coded.bytes) == nil)
        // A MODL that is not a zstd frame.
        var broken = model.file
        broken.sections[0].codec = 1
        expectCode(broken.bytes, .decompressionFailed)
    }

    // Step 13.
    @Test func presence() {
        var missing = model.file
        missing.sections.remove(at: missing.index(of: "LFW2")!)
        expectCode(missing.bytes, .missingSection)
        var noNodes = model.file
        noNodes.sections.remove(at: noNodes.index(of: "NODB")!)
        expectCode(noNodes.bytes, .missingSection)
        let depth0 = RawModel(depth: 0)
        var extraNodes = depth0.file
        extraNodes.sections.insert(RawSection("NODW", Raw.floats([1, 2, 3])), at: 1)
        expectCode(extraNodes.bytes, .unexpectedSection)
        var extraMaster = model.file
        extraMaster.sections.append(RawSection("MSB2", Raw.floats([1, 2])))
        expectCode(extraMaster.bytes, .unexpectedSection)
        let master = RawModel(masterWidth: 2)
        var noMaster = master.file
        noMaster.sections.remove(at: noMaster.index(of: "MSW2")!)
        expectCode(noMaster.bytes, .missingSection)
        // §6's order decides: NODW missing is reported before MSB2 unexpected.
        var both = model.file
        both.sections.remove(at: both.index(of: "NODW")!)
        both.sections.append(RawSection("MSB2", Raw.floats([1, 2])))
        expectCode(both.bytes, .missingSection)
    }

    // Step 14.
    @Test func decodedLengthsAndUnits() {
        var wrong = model.file
        let lfb1 = wrong.index(of: "LFB1")!
        wrong.sections[lfb1] = RawSection("LFB1", Raw.floats([1, 2, 3]))
        expectCode(wrong.bytes, .shapeMismatch)
        // Checked before decoding: a corrupt zstd frame of the wrong size is a shape mismatch.
        var corrupt = model.file
        var frame = RawSection("LFB1", Raw.floats([1, 2, 3])).zstd()
        frame.stored[frame.stored.count - 1] ^= 0xFF
        corrupt.sections[lfb1] = frame
        expectCode(corrupt.bytes, .shapeMismatch)
        // Unit 8 on a tensor of 4 floats is fine; on 3 floats (NODW, 12 bytes) it is invalid-value.
        var unit8 = model.file
        let lfb2 = unit8.index(of: "LFB2")!
        unit8.sections[lfb2] = unit8.sections[lfb2].shuffled(unit: 8)
        #expect(readError(unit8.bytes) == nil)
        let nodw = unit8.index(of: "NODW")!
        unit8.sections[nodw].filter = 1
        unit8.sections[nodw].unit = 8
        expectCode(unit8.bytes, .invalidValue)
        var labels = model.file
        labels.sections.append(RawSection("LABL", RawModel.labels([[0x61], [0x62, 0x63]])))
        labels.sections[labels.sections.count - 1].filter = 1
        labels.sections[labels.sections.count - 1].unit = 4  // 19 bytes
        expectCode(labels.bytes, .invalidValue)
        var prep = model.file
        prep.sections.insert(RawSection("PREP", RawModel.preprocessing(scale: [1, 2], offset: [0, 0])), at: 1)
        expectCode(prep.bytes, .shapeMismatch)  // 24 bytes: neither 16 nor 8 + 8 * 3
    }

    // Step 15: contents, in table order.
    @Test func tensorContents() {
        for bad in [Float.nan, .infinity, -.infinity, Float(bitPattern: 0x7FC0_0001)] {
            var file = model.file
            let index = file.index(of: "LFW2")!
            var values = [Float](repeating: 0.5, count: 8)
            values[5] = bad
            file.sections[index] = RawSection("LFW2", Raw.floats(values))
            let error = readError(file.bytes)
            #expect(error?.code == .nonFiniteParameter)
            #expect(error?.message.contains("[5]") == true)
            file.sections[index] = file.sections[index].shuffled(unit: 4).zstd()
            expectCode(file.bytes, .nonFiniteParameter)
        }
        // Decoding comes section by section: a bad frame in an earlier section wins over a
        // non-finite value in a later one.
        var file = model.file
        let nodw = file.index(of: "NODW")!
        file.sections[nodw] = RawSection("NODW", Raw.floats([1, 2, 3])).zstd()
        file.sections[nodw].stored.removeLast()  // a truncated frame
        file.sections[file.index(of: "LFB2")!] = RawSection("LFB2", Raw.floats([0, 0, .nan, 0]))
        let error = readError(file.bytes)
        #expect(error?.code == .decompressionFailed)
        #expect(error?.section == "NODW")
    }

    @Test func preprocessingContents() {
        func with(_ payload: [UInt8]) -> [UInt8] {
            var file = model.file
            file.sections.insert(RawSection("PREP", payload), at: 1)
            return file.bytes
        }
        #expect(readError(with(RawModel.preprocessing(scale: [2], offset: [-1]))) == nil)
        expectCode(with(RawModel.preprocessing(scale: [2], offset: [-1], count: 2)), .invalidValue)
        expectCode(with(RawModel.preprocessing(scale: [1, 1, 1], offset: [0, 0, 0], count: 1)), .shapeMismatch)
        var reserved = RawModel.preprocessing(scale: [2], offset: [-1])
        reserved[4] = 1
        expectCode(with(reserved), .reservedNonzero)
        expectCode(with(RawModel.preprocessing(scale: [.infinity], offset: [-1])), .nonFiniteParameter)
        expectCode(with(RawModel.preprocessing(scale: [1, 1, 1], offset: [0, .nan, 0])), .nonFiniteParameter)
    }

    @Test func labelContents() {
        func with(_ payload: [UInt8]) -> [UInt8] {
            var file = model.file
            file.sections.append(RawSection("LABL", payload))
            return file.bytes
        }
        #expect(readError(with(RawModel.labels([Array("zero".utf8), [0xE2, 0x9C, 0x93]]))) == nil)
        expectCode(with(RawModel.labels([[0x61]])), .shapeMismatch)                 // count 1, O = 2
        expectCode(with(RawModel.labels([[0x61], []])), .invalidValue)              // empty
        expectCode(with(RawModel.labels([[0x61], [UInt8](repeating: 0x62, count: 1025)])), .invalidValue)
        #expect(readError(with(RawModel.labels([[0x61], [UInt8](repeating: 0x62, count: 1024)]))) == nil)
        expectCode(with(RawModel.labels([[0x61], [0x61]])), .invalidValue)          // duplicate
        expectCode(with(RawModel.labels([[0x61], [0x62]]) + [0]), .shapeMismatch)   // leftover
        expectCode(with(Array(RawModel.labels([[0x61], [0x62]]).dropLast())), .shapeMismatch)
        expectCode(with([2, 0, 0]), .shapeMismatch)                                 // no room for the header
        var reserved = RawModel.labels([[0x61], [0x62]])
        reserved[7] = 1
        expectCode(with(reserved), .reservedNonzero)
        // Ill-formed UTF-8: overlong, surrogate, beyond U+10FFFF, truncated sequence, stray continuation.
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x9C], [0x80], [0xFF]] {
            expectCode(with(RawModel.labels([[0x61], bad])), .invalidValue)
        }
    }

    @Test func metadataContents() {
        func with(_ payload: [UInt8]) -> [UInt8] {
            var file = model.file
            file.sections.append(RawSection("META", payload))
            return file.bytes
        }
        let k = Array("key".utf8)
        #expect(readError(with(RawModel.metadata([]))) == nil)
        #expect(readError(with(RawModel.metadata([(k, []), (Array("b".utf8), [0xF0, 0x9F, 0x98, 0x80])]))) == nil)
        expectCode(with(RawModel.metadata([([], [])])), .invalidValue)                       // empty key
        expectCode(with(RawModel.metadata([(Array("a key".utf8), [])])), .invalidValue)      // space
        expectCode(with(RawModel.metadata([([0x7F], [])])), .invalidValue)                   // DEL
        expectCode(with(RawModel.metadata([([UInt8](repeating: 0x6B, count: 257), [])])), .invalidValue)
        #expect(readError(with(RawModel.metadata([([UInt8](repeating: 0x6B, count: 256), [])]))) == nil)
        expectCode(with(RawModel.metadata([(k, []), (k, [0x61])])), .invalidValue)          // duplicate key
        expectCode(with(RawModel.metadata([(k, [0xC0, 0xAF])])), .invalidValue)             // overlong '/'
        expectCode(with(RawModel.metadata([(k, [])]) + [0, 0, 0, 0]), .shapeMismatch)
        expectCode(with(RawModel.metadata([(k, [])], count: 2)), .shapeMismatch)
        expectCode(with(RawModel.metadata([], count: 65537)), .invalidValue)
        var reserved = RawModel.metadata([])
        reserved[5] = 1
        expectCode(with(reserved), .reservedNonzero)
        // Read back: order and exact bytes preserved.
        let readBack = try? FFFReader.read(bytes: with(RawModel.metadata([(Array("z".utf8), Array("1".utf8)), (Array("a".utf8), Array("2".utf8))])))
        #expect(readBack?.metadata == [MetadataEntry(key: "z", value: "1"), MetadataEntry(key: "a", value: "2")])
    }

    /// A newer minor version: reserved fields everywhere may be nonzero, everything else holds.
    @Test func newerMinorVersionIgnoresReservedFields() throws {
        var m = model
        m.reserved27 = 0xFF
        m.reservedTail = [UInt8](repeating: 0xEE, count: 32)
        var file = m.file
        file.minor = 7
        file.headerFlags = 0xFFFF_FFFF
        file.trailerReserved = 1
        for index in file.sections.indices {
            file.sections[index].flags |= 0xFFFF_FFFE
            file.sections[index].reserved = 0x42
        }
        var labels = RawModel.labels([[0x61], [0x62]])
        labels[4] = 9
        file.sections.append(RawSection("LABL", labels))
        file.sections[file.sections.count - 1].flags = 0xF0  // critical bit clear, reserved bits set
        let read = try FFFReader.readFile(bytes: file.bytes)
        #expect(read.layout.minorVersion == 7)
        #expect(read.model.labels == ["a", "b"])
        file.minor = 0
        expectCode(file.bytes, .reservedNonzero)
        file.minor = 1
        expectCode(file.bytes, .reservedNonzero)
    }
}
