import Testing
@testable import FFFFormat

/// Absurd declarations are refused with the right code before anything is allocated for them.
/// Each case patches a valid plain file and recomputes its checksums, so only the declaration
/// is wrong. (An attempt to allocate terabytes would crash the test process, so passing also
/// shows nothing was allocated from the declaration.)
@Suite struct HostileDeclarationTests {
    private func plainFile() throws -> [UInt8] {
        FFFWriter.write(try TestModels.small(), options: .init(codec: .none, shuffle: false))
    }

    /// Patches a `u32` of the MODL payload.
    private func patchedModel(_ fieldOffset: Int, _ value: UInt32) throws -> [UInt8] {
        var bytes = try plainFile()
        let modl = try #require(Raw.sectionOffset(bytes, type: "MODL"))
        Raw.put(value, into: &bytes, at: modl + fieldOffset)
        Raw.rechecksum(&bytes)
        return bytes
    }

    @Test func absurdModelHeaderFields() throws {
        expectCode(try patchedModel(12, 60), .limitExceeded)            // depth 60
        expectCode(try patchedModel(12, 25), .limitExceeded)            // depth 25
        expectCode(try patchedModel(4, 1 << 31), .limitExceeded)        // input width 2^31
        expectCode(try patchedModel(8, UInt32.max), .limitExceeded)     // output width 2^32 - 1
        expectCode(try patchedModel(16, 1 << 16 + 1), .limitExceeded)  // leaf width 2^17
        expectCode(try patchedModel(20, 1 << 31), .limitExceeded)       // master width 2^31
        expectCode(try patchedModel(4, 0), .invalidValue)               // input width 0
        expectCode(try patchedModel(16, 0), .invalidValue)              // leaf width 0
        expectCode(try patchedModel(0, 0), .invalidValue)               // layer kind 0
        expectCode(try patchedModel(0, 2), .unsupportedFeature)         // layer kind 2
    }

    /// Each width is within its own limit but the implied tensor is not (§15): the product
    /// overflows 64 bits or exceeds 2^34 bytes.
    @Test func impliedTensorBeyondTheLimit() throws {
        var bytes = try plainFile()
        let modl = try #require(Raw.sectionOffset(bytes, type: "MODL"))
        Raw.put(UInt32(1 << 24), into: &bytes, at: modl + 4)   // I
        Raw.put(UInt32(24), into: &bytes, at: modl + 12)       // d
        Raw.put(UInt32(1 << 16), into: &bytes, at: modl + 16)  // H: L*I*H*4 = 2^66
        Raw.rechecksum(&bytes)
        expectCode(bytes, .limitExceeded)
        Raw.put(UInt32(1 << 20), into: &bytes, at: modl + 4)
        Raw.put(UInt32(4), into: &bytes, at: modl + 12)
        Raw.put(UInt32(1 << 10), into: &bytes, at: modl + 16)  // 16 * 2^20 * 2^10 * 4 = 2^36
        Raw.rechecksum(&bytes)
        let error = readError(bytes)
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("LFW1") == true)
    }

    @Test func absurdSectionLengths() throws {
        let bytes = try plainFile()
        let entry = try #require(Raw.entryOffset(bytes, type: "LFW1"))
        // 1 TB decoded: refused at the table (step 8), before layout or decoding.
        var terabyte = bytes
        Raw.put(UInt64(1) << 40, into: &terabyte, at: entry + 24)
        Raw.rechecksum(&terabyte)
        expectCode(terabyte, .limitExceeded)
        // The largest allowed declaration, zstd-coded: passes the table, then the MODL-implied
        // size disagrees (shape-mismatch) before anything is decoded.
        var huge = bytes
        Raw.put(UInt64(1) << 34, into: &huge, at: entry + 24)
        huge[entry + 32] = 1
        Raw.rechecksum(&huge)
        expectCode(huge, .shapeMismatch)
        // A stored length past the end of the file.
        var stored = bytes
        Raw.put(UInt64.max, into: &stored, at: entry + 16)
        Raw.rechecksum(&stored)
        expectCode(stored, .badLayout)
        // An offset near 2^64 (overflow bait).
        var offset = bytes
        Raw.put(UInt64.max - 3, into: &offset, at: entry + 8)
        Raw.rechecksum(&offset)
        expectCode(offset, .badLayout)
    }

    @Test func lyingCounts() throws {
        let bytes = try plainFile()
        var many = bytes
        Raw.put(UInt32(1025), into: &many, at: 12)
        Raw.rechecksum(&many)
        expectCode(many, .limitExceeded)
        var maxCount = bytes
        Raw.put(UInt32.max, into: &maxCount, at: 12)
        Raw.rechecksum(&maxCount)
        expectCode(maxCount, .limitExceeded)
        var longTable = bytes
        Raw.put(UInt32(1000), into: &longTable, at: 12)   // a table of 40 KB in a 1 KB file
        Raw.put(crcOfHeader(longTable), into: &longTable, at: 28)
        expectCode(longTable, .truncated)
        var zero = bytes
        Raw.put(UInt32(0), into: &zero, at: 12)
        Raw.put(crcOfHeader(zero), into: &zero, at: 28)
        expectCode(zero, .invalidValue)
        var length = bytes
        Raw.put(UInt64.max, into: &length, at: 16)
        Raw.put(crcOfHeader(length), into: &length, at: 28)
        expectCode(length, .truncated)
    }

    private func crcOfHeader(_ bytes: [UInt8]) -> UInt32 { Raw.crc(bytes[0..<28]) }

    /// Counts and lengths inside LABL and META that promise more than the payload holds.
    @Test func lyingPayloadCounts() throws {
        let model = RawModel(output: 2)
        func with(_ section: RawSection) -> [UInt8] {
            var file = model.file
            file.sections.append(section)
            return file.bytes
        }
        expectCode(with(RawSection("LABL", RawModel.labels([[0x61], [0x62]], count: 3))), .shapeMismatch)
        expectCode(with(RawSection("LABL", RawModel.labels([[0x61], [0x62]], count: UInt32.max))), .shapeMismatch)
        // A label length of 2^32 - 1: beyond the 1024-byte limit (checked before the extent).
        expectCode(with(RawSection("LABL", Raw.le(UInt32(2)) + Raw.le(UInt32(0)) + Raw.le(UInt32.max) + [0x61])), .invalidValue)
        // A legal length running past the payload.
        expectCode(with(RawSection("LABL", Raw.le(UInt32(2)) + Raw.le(UInt32(0)) + Raw.string([0x61]) + Raw.le(UInt32(5)) + [0x62])), .shapeMismatch)
        expectCode(with(RawSection("META", RawModel.metadata([], count: 1 << 31))), .invalidValue)
        expectCode(with(RawSection("META", RawModel.metadata([([0x6B], [0x76])], count: 65536))), .shapeMismatch)
        expectCode(with(RawSection("META", RawModel.metadata([([0x6B], [0x76])]) + [0])), .shapeMismatch)
        // A META value declaring 16 MiB + 1 bytes.
        expectCode(with(RawSection("META", Raw.le(UInt32(1)) + Raw.le(UInt32(0)) + Raw.string([0x6B]) + Raw.le(UInt32(1 << 24 + 1)))), .invalidValue)
    }

    @Test func readerBudget() throws {
        let bytes = try plainFile()
        expectCode(bytes, .limitExceeded, options: .init(maxDecodedBytes: 100))
        #expect(readError(bytes, options: .init(maxDecodedBytes: UInt64(bytes.count))) == nil)
        // A 3 GiB LABL declared through a one-frame zstd section, with the budget at 1 GiB:
        // refused before decoding (the frame would fail anyway, but must not be tried).
        var file = RawModel().file
        var labl = RawSection("LABL", RawModel.labels([[0x61], [0x62]])).zstd()
        labl.decodedLength = 3 << 30
        file.sections.append(labl)
        expectCode(file.bytes, .limitExceeded, options: .init(maxDecodedBytes: 1 << 30))
    }
}
