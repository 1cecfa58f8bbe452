import CZstd

/// The Zstandard codec of spec/FORMAT.md §4.1, over libzstd's stable API.
///
/// Decoding never trusts the frame: the output buffer is sized by the caller from the section's
/// validated `decoded length`, the frame must be exactly one standard frame filling the stored
/// bytes, and a frame that would produce more than the buffer holds is stopped and rejected
/// without growing anything.
enum ZstdCodec {
    /// Why a frame was refused; the reader turns it into `decompression-failed` with its place.
    struct Failure: Error {
        let message: String
    }

    /// The little-endian magic number that starts every standard (non-skippable) frame.
    private static let frameMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    private static let contentSizeUnknown: UInt64 = .max       // ZSTD_CONTENTSIZE_UNKNOWN
    private static let contentSizeError: UInt64 = .max - 1     // ZSTD_CONTENTSIZE_ERROR

    /// The checks of spec §4.1 that need only the stored bytes: one standard frame (magic, no
    /// skippable frame, nothing after it), a declared content size equal to `decodedLength`, no
    /// dictionary, and a decoded length that the stored length can produce at all. Callers run it
    /// before they allocate `decodedLength` bytes, so a tiny section declaring gigabytes is refused
    /// without the allocation.
    /// - Complexity: O(number of blocks), reading only block headers.
    static func checkFrame(_ source: UnsafeRawBufferPointer, decodedLength: Int) throws(Failure) {
        let expected = decodedLength
        guard source.count >= 4, let sourceBase = source.baseAddress,
              Array(source.prefix(4)) == ZstdCodec.frameMagic else {
            throw Failure(message: "stored bytes are not a Zstandard frame (expected magic 28 B5 2F FD; skippable frames are not allowed)")
        }
        let declared = ZSTD_getFrameContentSize(sourceBase, source.count)
        if declared == ZstdCodec.contentSizeError {
            throw Failure(message: "the Zstandard frame header is invalid or incomplete")
        }
        if declared == ZstdCodec.contentSizeUnknown {
            throw Failure(message: "the Zstandard frame does not declare its content size; the format requires it (\(expected) bytes)")
        }
        if declared != UInt64(expected) {
            throw Failure(message: "the Zstandard frame declares \(declared) content bytes; the section declares \(expected)")
        }
        let dictionary = ZSTD_getDictID_fromFrame(sourceBase, source.count)
        if dictionary != 0 {
            throw Failure(message: "the Zstandard frame needs dictionary \(dictionary); dictionaries are not allowed")
        }
        let frameSize = ZSTD_findFrameCompressedSize(sourceBase, source.count)
        if ZSTD_isError(frameSize) != 0 {
            throw Failure(message: "the Zstandard frame is corrupt or truncated: \(ZstdCodec.errorName(frameSize))")
        }
        if frameSize != source.count {
            throw Failure(message: "\(source.count - frameSize) bytes follow the Zstandard frame of \(frameSize) bytes; a section holds exactly one frame")
        }
        // The densest block is RLE: 4 stored bytes (3 of header) for at most 128 KiB.
        if UInt64(expected) / UInt64(maxExpansion) > UInt64(source.count) {
            throw Failure(message: "\(source.count) stored bytes cannot decode to \(expected) bytes (a Zstandard frame expands at most \(maxExpansion)-fold)")
        }
    }

    /// Bytes of output one stored byte can yield at most: an RLE block of 128 KiB from 4 bytes.
    static let maxExpansion = 32768

    /// Compresses `source` into one frame at `level`, declaring the content size in the frame
    /// header and adding no content checksum. Deterministic for a given libzstd version.
    ///
    /// - Returns: the frame, or `nil` if libzstd fails (it can only fail to allocate memory).
    /// - Complexity: O(`source.count`), with a large constant at high levels.
    static func compress(_ source: UnsafeRawBufferPointer, level: Int32) -> [UInt8]? {
        guard let context = ZSTD_createCCtx() else { return nil }
        defer { ZSTD_freeCCtx(context) }
        guard ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)) == 0,
              ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)) == 0,
              ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)) == 0
        else { return nil }
        let bound = ZSTD_compressBound(source.count)
        guard ZSTD_isError(bound) == 0 else { return nil }
        var failed = false
        let frame = [UInt8](unsafeUninitializedCapacity: bound) { buffer, initialized in
            // ZSTD_compress2 knows the source size, so it writes it into the frame header.
            let written = ZSTD_compress2(context, buffer.baseAddress, bound, source.baseAddress, source.count)
            if ZSTD_isError(written) != 0 {
                failed = true
                initialized = 0
            } else {
                initialized = written
            }
        }
        return failed ? nil : frame
    }

    /// A reusable decompression context; one per read, freed with the decoder.
    final class Decoder {
        private let context: OpaquePointer

        init?() {
            guard let context = ZSTD_createDCtx() else { return nil }
            self.context = context
        }

        deinit { ZSTD_freeDCtx(context) }

        /// Decodes `source`, which must be exactly one Zstandard frame, into `destination`, which
        /// it must fill exactly.
        ///
        /// Rejects: anything but a standard frame (skippable frames included), a frame that does
        /// not declare its content size or declares one other than `destination.count`, a frame
        /// needing a dictionary, bytes after the frame, a corrupt or truncated frame, a content
        /// checksum mismatch, and a frame producing fewer or more bytes than `destination.count`
        /// (its declaration notwithstanding). The streaming decoder writes only into `destination` (and a
        /// one-byte probe), so an oversized frame costs nothing before it is refused.
        /// - Complexity: O(`destination.count` + `source.count`).
        func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(Failure) {
            let expected = destination.count
            try ZstdCodec.checkFrame(source, decodedLength: expected)
            guard let sourceBase = source.baseAddress else { return }
            ZSTD_DCtx_reset(context, ZSTD_reset_session_and_parameters)

            var input = ZSTD_inBuffer(src: sourceBase, size: source.count, pos: 0)
            // A zero-length destination may have no base address; give zstd a valid pointer anyway.
            var probeByte: UInt8 = 0
            try withUnsafeMutableBytes(of: &probeByte) { probe throws(Failure) in
                var output = ZSTD_outBuffer(dst: destination.baseAddress ?? probe.baseAddress, size: expected, pos: 0)
                while true {
                    let before = (input.pos, output.pos)
                    let result = ZSTD_decompressStream(context, &output, &input)
                    if ZSTD_isError(result) != 0 {
                        throw Failure(message: "Zstandard decoding failed: \(ZstdCodec.errorName(result))")
                    }
                    if result == 0 { break }  // frame complete and fully flushed
                    if output.pos == output.size {
                        // The buffer is full but the frame is not finished: either only the
                        // epilogue remains, or it would produce more. A one-byte probe tells which.
                        var probeOutput = ZSTD_outBuffer(dst: probe.baseAddress, size: 1, pos: 0)
                        let probeResult = ZSTD_decompressStream(context, &probeOutput, &input)
                        if ZSTD_isError(probeResult) != 0 {
                            throw Failure(message: "Zstandard decoding failed: \(ZstdCodec.errorName(probeResult))")
                        }
                        if probeOutput.pos > 0 {
                            throw Failure(message: "the Zstandard frame decodes to more than the \(expected) bytes the section declares")
                        }
                        if probeResult == 0 { break }
                    }
                    if (input.pos, output.pos) == before {
                        throw Failure(message: "the Zstandard frame is truncated (decoded \(output.pos) of \(expected) bytes)")
                    }
                }
                if output.pos != expected {
                    throw Failure(message: "the Zstandard frame decodes to \(output.pos) bytes; the section declares \(expected)")
                }
            }
            if input.pos != source.count {
                throw Failure(message: "\(source.count - input.pos) bytes follow the Zstandard frame")
            }
        }
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "unknown error" }
        return String(cString: name)
    }
}
