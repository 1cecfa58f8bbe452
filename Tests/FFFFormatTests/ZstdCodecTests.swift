import FFFTestSupport
import CZstd
import Testing
@testable import FFFFormat

@Suite struct ZstdCodecTests {
    private func frame(_ payload: [UInt8], contentSize: Bool = true, checksum: Bool = false) -> [UInt8] {
        let context = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 3)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, contentSize ? 1 : 0)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, checksum ? 1 : 0)
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(payload.count) + 64)
        // The streaming API does not know the size in advance, so with contentSize false the
        // header really omits it.
        let written = out.withUnsafeMutableBytes { dst in
            payload.withUnsafeBytes { src in
                var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
                var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
                if contentSize { ZSTD_CCtx_setPledgedSrcSize(context, UInt64(src.count)) }
                let remaining = ZSTD_compressStream2(context, &output, &input, ZSTD_e_end)
                precondition(remaining == 0)
                return output.pos
            }
        }
        return Array(out[0..<written])
    }

    private func decode(_ frame: [UInt8], length: Int) -> Result<[UInt8], ZstdCodec.Failure> {
        var out = [UInt8](repeating: 0xAA, count: length)
        let decoder = ZstdCodec.Decoder()!
        let failure: ZstdCodec.Failure? = out.withUnsafeMutableBytes { dst in
            frame.withUnsafeBytes { src in
                do throws(ZstdCodec.Failure) {
                    try decoder.decompress(src, into: dst)
                    return nil
                } catch {
                    return error
                }
            }
        }
        if let failure { return .failure(failure) }
        return .success(out)
    }

    private func expectFailure(_ frame: [UInt8], length: Int, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        switch decode(frame, length: length) {
        case .success: Issue.record("decoded a frame that must be refused", sourceLocation: sourceLocation)
        case .failure(let failure):
            #expect(failure.message.contains(fragment), "message: \(failure.message)", sourceLocation: sourceLocation)
        }
    }

    private var payload: [UInt8] {
        var rng = SplitMix64(seed: 3)
        return (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next() % 7) }
    }

    @Test func roundTrip() throws {
        for checksum in [true, false] {
            let decoded = try decode(frame(payload, checksum: checksum), length: 1000).get()
            #expect(decoded == payload)
        }
        let ours = payload.withUnsafeBytes { ZstdCodec.compress($0, level: 19)! }
        #expect(ZSTD_getFrameContentSize(ours, ours.count) == 1000, "the writer declares the content size")
        #expect(try decode(ours, length: 1000).get() == payload)
        #expect(try decode(frame([], contentSize: true), length: 0).get() == [])
    }

    @Test func declaredContentSizeMustMatch() {
        expectFailure(frame(payload), length: 100, "declares 1000 content bytes")
        expectFailure(frame(payload), length: 1001, "declares 1000 content bytes")
    }

    /// §4.1: the frame must declare its content size, even when it would decode to the right length.
    @Test func frameWithoutDeclaredSizeIsRefused() {
        for length in [100, 1000] {
            expectFailure(frame(payload, contentSize: false), length: length, "does not declare its content size")
        }
    }

    /// Offsets of a frame header's fields (RFC 8878 §3.1.1.1).
    private func contentSizeField(_ frame: [UInt8]) -> (position: Int, size: Int) {
        let descriptor = frame[4]
        let singleSegment = (descriptor >> 5) & 1 == 1
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 3)]
        let sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        return (5 + (singleSegment ? 0 : 1) + dictionaryBytes, sizeBytes)
    }

    /// 64 MiB of zeros compress to a few KB; with a header lying that they are 100 bytes, the
    /// decoder must stop at the 100-byte buffer's end, without producing (or allocating) 64 MiB.
    @Test func decompressionBombIsStoppedEarly() throws {
        var bomb = frame([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 64 << 10)
        let field = contentSizeField(bomb)
        try #require(field.size == 4, "64 MiB is declared in a 4-byte field")
        for k in 0..<4 { bomb[field.position + k] = UInt8(truncatingIfNeeded: 100 >> (8 * k)) }
        #expect(ZSTD_getFrameContentSize(bomb, bomb.count) == 100)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            if case .success = decode(bomb, length: 100) { Issue.record("a 64 MiB frame fitted in 100 bytes") }
        }
        #expect(elapsed < .seconds(2))
    }

    @Test func twoFramesAreRefused() {
        let one = frame(Array(payload[0..<500]))
        let two = one + frame(Array(payload[500...]))
        expectFailure(two, length: 500, "follow the Zstandard frame")
        // With the whole length declared, the first frame's own size already disagrees.
        expectFailure(two, length: 1000, "declares 500 content bytes")
    }

    /// A frame header naming a dictionary (ID 7, inserted by hand) is refused before decoding.
    @Test func dictionaryFramesAreRefused() {
        let original = frame(payload)
        var patched = original
        let field = contentSizeField(original)
        patched[4] |= 1                                   // Dictionary_ID_flag: one byte
        patched.insert(7, at: field.position)             // the ID sits before the content size
        #expect(ZSTD_getDictID_fromFrame(patched, patched.count) == 7)
        expectFailure(patched, length: 1000, "dictionary 7")
    }

    @Test func trailingGarbageIsRefused() {
        expectFailure(frame(payload) + [0], length: 1000, "follow the Zstandard frame")
    }

    /// The frame header's content size field patched to lie (larger and smaller), with the
    /// section declaring the same lie.
    @Test func lyingContentSize() throws {
        let original = frame(payload)
        let field = contentSizeField(original)
        try #require(field.size == 2, "1000 bytes are declared in a 2-byte field (value - 256)")
        for lie in [300, 900, 999, 1001, 1100] {
            var patched = original
            patched[field.position] = UInt8((lie - 256) & 0xFF)
            patched[field.position + 1] = UInt8((lie - 256) >> 8)
            #expect(ZSTD_getFrameContentSize(patched, patched.count) == UInt64(lie))
            if case .success = decode(patched, length: lie) {
                Issue.record("a frame lying about its size (\(lie)) was accepted")
            }
        }
    }

    @Test func skippableFrameIsRefused() {
        let skippable: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]
        expectFailure(skippable, length: 0, "skippable frames are not allowed")
        expectFailure(skippable + frame(payload), length: 1000, "skippable frames are not allowed")
    }

    @Test func truncatedAndCorruptFramesAreRefused() {
        let full = frame(payload, checksum: true)
        for cut in [1, 4, 5, 8, full.count / 2, full.count - 1] {
            if case .success = decode(Array(full[0..<cut]), length: 1000) {
                Issue.record("a frame cut to \(cut) bytes was accepted")
            }
        }
        var badChecksum = full
        badChecksum[badChecksum.count - 1] ^= 0x01
        expectFailure(badChecksum, length: 1000, "checksum")
    }

    /// The frame fed in pieces of `size` bytes, as the reader feeds a file.
    private func decodeInPieces(_ frame: [UInt8], length: Int, size: Int) -> Result<[UInt8], ZstdCodec.Failure> {
        var out = [UInt8](repeating: 0xAA, count: length)
        let decoder = ZstdCodec.Decoder()!
        let failure: ZstdCodec.Failure? = out.withUnsafeMutableBytes { dst in
            frame.withUnsafeBytes { src in
                do throws(ZstdCodec.Failure) {
                    try decoder.start(into: dst, storedLength: src.count)
                    var start = 0
                    repeat {
                        let end = min(start + size, src.count)
                        try decoder.feed(UnsafeRawBufferPointer(rebasing: src[start ..< end]), isLast: end == src.count)
                        start = end
                    } while start < src.count
                    return nil
                } catch {
                    return error
                }
            }
        }
        if let failure { return .failure(failure) }
        return .success(out)
    }

    /// Pieces of any size give the whole-frame result, and each refusal still happens.
    @Test func piecewiseFeedingMatchesWholeFrames() throws {
        let whole = frame(payload, checksum: true)
        for size in [1, 2, 7, 64, whole.count] {
            #expect(try decodeInPieces(whole, length: 1000, size: size).get() == payload, "pieces of \(size)")
            if case .success = decodeInPieces(Array(whole.dropLast(3)), length: 1000, size: size) {
                Issue.record("a truncated frame fed in pieces of \(size) was accepted")
            }
            switch decodeInPieces(whole + [0, 0], length: 1000, size: size) {
            case .success: Issue.record("bytes after the frame, pieces of \(size), were accepted")
            case .failure(let failure):
                // The message names the exact count, however the bytes were cut.
                #expect(failure.message.hasPrefix("2 bytes follow the Zstandard frame of \(whole.count) bytes"), "\(failure.message)")
            }
            if case .success = decodeInPieces(whole, length: 999, size: size) {
                Issue.record("a frame longer than its destination, pieces of \(size), was accepted")
            }
        }
        var bomb = frame([UInt8](repeating: 0, count: 8 << 20))
        let field = contentSizeField(bomb)
        try #require(field.size == 4)
        for k in 0..<4 { bomb[field.position + k] = UInt8(truncatingIfNeeded: 100 >> (8 * k)) }
        if case .success = decodeInPieces(bomb, length: 100, size: 5) {
            Issue.record("an 8 MiB frame fitted in 100 bytes")
        }
    }
}
