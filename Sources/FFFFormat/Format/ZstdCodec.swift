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

    /// The longest Zstandard frame header (ZSTD_FRAMEHEADERSIZE_MAX): `checkFrameHeader` needs
    /// no more of a section's stored bytes than this.
    static let frameHeaderMaxSize = 18

    /// The checks of spec §4.1 that the frame header and the lengths decide: a standard frame
    /// (magic; no skippable frame), a declared content size equal to `decodedLength`, no
    /// dictionary, and a decoded length that `storedLength` bytes can produce at all. Callers run
    /// it before they allocate `decodedLength` bytes, so a tiny section declaring gigabytes is
    /// refused without the allocation. Corruption, truncation and bytes after the frame are found
    /// while decoding.
    /// - Parameter head: the first `min(storedLength, frameHeaderMaxSize)` stored bytes.
    /// - Complexity: O(1).
    static func checkFrameHeader(_ head: UnsafeRawBufferPointer, storedLength: Int, decodedLength: Int) throws(Failure) {
        let expected = decodedLength
        guard head.count >= 4, let headBase = head.baseAddress,
              Array(head.prefix(4)) == ZstdCodec.frameMagic else {
            throw Failure(message: "stored bytes are not a Zstandard frame (expected magic 28 B5 2F FD; skippable frames are not allowed)")
        }
        let declared = ZSTD_getFrameContentSize(headBase, head.count)
        if declared == ZstdCodec.contentSizeError {
            throw Failure(message: "the Zstandard frame header is invalid or incomplete")
        }
        if declared == ZstdCodec.contentSizeUnknown {
            throw Failure(message: "the Zstandard frame does not declare its content size; the format requires it (\(expected) bytes)")
        }
        if declared != UInt64(expected) {
            throw Failure(message: "the Zstandard frame declares \(declared) content bytes; the section declares \(expected)")
        }
        let dictionary = ZSTD_getDictID_fromFrame(headBase, head.count)
        if dictionary != 0 {
            throw Failure(message: "the Zstandard frame needs dictionary \(dictionary); dictionaries are not allowed")
        }
        // The densest block is RLE: 4 stored bytes (3 of header) for at most 128 KiB.
        if UInt64(expected) / UInt64(maxExpansion) > UInt64(storedLength) {
            throw Failure(message: "\(storedLength) stored bytes cannot decode to \(expected) bytes (a Zstandard frame expands at most \(maxExpansion)-fold)")
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

    /// A reusable decompression context that decodes one frame at a time, fed in pieces, straight
    /// into the caller's buffer: libzstd's stable-output mode keeps no window buffer of its own,
    /// so decoding a section costs its destination plus libzstd's fixed input buffer (one block,
    /// at most 128 KiB), whatever the frame declares.
    final class Decoder {
        private let context: OpaquePointer
        private var output = ZSTD_outBuffer(dst: nil, size: 0, pos: 0)
        private var expected = 0
        /// The section's stored length, and how much of it has been fed so far.
        private var storedLength = 0
        private var consumed = 0
        private var frameComplete = false
        /// The destination zstd writes to when the caller's is empty (and has no address).
        private let emptyDestination = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

        /// `ZSTD_d_stableOutBuffer` (libzstd >= 1.4.4): an experimental parameter of the stable
        /// `ZSTD_DCtx_setParameter`, spelled by number so the shim needs no static-only API.
        private static let stableOutBuffer = ZSTD_dParameter(rawValue: 1001)
        /// ZSTD_WINDOWLOG_MAX_64 (a static-only macro): the largest window libzstd decodes.
        private static let windowLogMax: Int32 = 31

        init?() {
            guard let context = ZSTD_createDCtx() else { return nil }
            self.context = context
        }

        deinit {
            ZSTD_freeDCtx(context)
            emptyDestination.deallocate()
        }

        /// Decodes `source`, which must be exactly one Zstandard frame, into `destination`, which
        /// it must fill exactly: `checkFrameHeader`, `start` and one `feed`.
        /// - Complexity: O(`destination.count` + `source.count`).
        func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer) throws(Failure) {
            try ZstdCodec.checkFrameHeader(UnsafeRawBufferPointer(rebasing: source.prefix(ZstdCodec.frameHeaderMaxSize)),
                                           storedLength: source.count, decodedLength: destination.count)
            try start(into: destination, storedLength: source.count)
            try feed(source, isLast: true)
        }

        /// Begins a frame of `storedLength` bytes (fed in pieces) that must decode to exactly
        /// `destination.count` bytes into `destination`. The caller keeps `destination` alive
        /// and unmoved until the last `feed`.
        func start(into destination: UnsafeMutableRawBufferPointer, storedLength: Int) throws(Failure) {
            ZSTD_DCtx_reset(context, ZSTD_reset_session_and_parameters)
            if ZSTD_isError(ZSTD_DCtx_setParameter(context, Self.stableOutBuffer, 1)) != 0 {
                throw Failure(message: "this libzstd does not support decoding into a stable output buffer (it needs 1.4.4 or later)")
            }
            // The format sets no window limit (§4.1), and one-shot decoding has none; streaming
            // refuses windows above 2^27 by default. With a stable output buffer the window is
            // the destination itself, so allowing libzstd's maximum costs no memory.
            _ = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.windowLogMax)
            expected = destination.count
            self.storedLength = storedLength
            consumed = 0
            output = ZSTD_outBuffer(dst: destination.baseAddress ?? emptyDestination, size: destination.count, pos: 0)
            frameComplete = false
        }

        /// Decodes the frame's next stored bytes. `isLast` marks the piece that ends the section:
        /// the frame must end exactly there, having produced exactly the destination's size.
        ///
        /// Rejects a corrupt frame, a content checksum mismatch, a frame producing more bytes than
        /// the destination holds (libzstd stops at its end: nothing is written past it), bytes
        /// after the frame, and a frame still unfinished after the last piece.
        func feed(_ source: UnsafeRawBufferPointer, isLast: Bool) throws(Failure) {
            var input = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            defer { consumed += input.pos }
            if frameComplete, source.count > 0 { throw trailingBytes(frameEnd: consumed) }
            while !frameComplete {
                let before = (input.pos, output.pos)
                let result = ZSTD_decompressStream(context, &output, &input)
                if ZSTD_isError(result) != 0 {
                    if output.pos == output.size, ZSTD_getErrorCode(result) == ZSTD_error_dstSize_tooSmall {
                        throw Failure(message: "the Zstandard frame decodes to more than the \(expected) bytes the section declares")
                    }
                    throw Failure(message: "Zstandard decoding failed: \(ZstdCodec.errorName(result))")
                }
                if result == 0 {
                    frameComplete = true
                    if input.pos < input.size || !isLast { throw trailingBytes(frameEnd: consumed + input.pos) }
                    break
                }
                if (input.pos, output.pos) == before {
                    // Nothing moved: this piece is used up, or libzstd is stuck (never seen; a
                    // guard against looping forever on a frame no one has imagined yet).
                    if input.pos == input.size { break }
                    throw Failure(message: "Zstandard decoding made no progress at stored byte \(input.pos) of this piece")
                }
            }
            guard isLast else { return }
            if !frameComplete {
                throw Failure(message: "the Zstandard frame is truncated (decoded \(output.pos) of \(expected) bytes)")
            }
            if output.pos != expected {
                throw Failure(message: "the Zstandard frame decodes to \(output.pos) bytes; the section declares \(expected)")
            }
        }

        /// The same message however the stored bytes were cut into pieces.
        private func trailingBytes(frameEnd: Int) -> Failure {
            Failure(message: "\(storedLength - frameEnd) bytes follow the Zstandard frame of \(frameEnd) bytes; a section holds exactly one frame")
        }
    }

    private static func errorName(_ code: Int) -> String {
        guard let name = ZSTD_getErrorName(code) else { return "unknown error" }
        return String(cString: name)
    }
}
