import CZlib

/// The decompressed bytes of a gzip stream read from another source, decoded on the fly with
/// zlib (`inflateInit2` with windowBits 15+32). Concatenated gzip members are one stream, as
/// `gzip -d` treats them.
///
/// Memory: one fixed input buffer (64 KiB, or the prefix size if larger) and zlib's state
/// (~44 KiB), both allocated once. Errors name the offset in the compressed stream.
///
/// Streaming has a price: damage that still decodes (it is caught at the latest by the
/// member's CRC-32, at its end) yields wrong bytes before the error, so a reader may deliver
/// wrong records before it throws. Treat any error as failing the whole input.
public final class GzipSource: ByteSource {
    private let inner: any ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    /// Compressed bytes consumed by zlib before the current `next_in`.
    private var consumed = 0
    private var innerEnded = false
    /// Whether zlib has been fed bytes of a member it has not finished.
    private var inMember = false
    /// The last `inflate` filled the output it was given: zlib may hold more output for the
    /// bytes it has consumed, so it is asked again before more input is read.
    private var outputPending = false
    private var finished = false
    private var pendingError: RecordError?

    /// Whether `head` starts a gzip member: `1f 8b 08` (deflate), then a flags byte with the
    /// reserved bits 5-7 clear. Nil when `head` is too short to tell (under 4 bytes and matching
    /// so far).
    public static func recognises(_ head: UnsafeRawBufferPointer) -> Bool? {
        let magic: [UInt8] = [0x1F, 0x8B, 0x08]
        for i in 0..<min(head.count, 4) where i < 3 ? head[i] != magic[i] : head[i] & 0xE0 != 0 { return false }
        return head.count >= 4 ? true : nil
    }

    /// Decodes `inner`, whose first bytes were already read into `prefix` (a reader peeks at
    /// the gzip magic before it knows it needs this source). Throws `.corruptCompression` when
    /// zlib cannot be set up.
    public init(wrapping inner: any ByteSource, prefix: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) throws(RecordError) {
        self.inner = inner
        input = .allocate(byteCount: max(1 << 16, prefix.count), alignment: 16)
        if prefix.count > 0 { input.baseAddress!.copyMemory(from: prefix.baseAddress!, byteCount: prefix.count) }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(prefix.count)
        // windowBits 15 + 32: the largest window, with the gzip (or zlib) header detected.
        let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        if status != Z_OK {
            stream.deallocate()
            input.deallocate()
            throw RecordError(.corruptCompression, "cannot start the gzip decoder (zlib status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    /// Decodes until `buffer` is full or the compressed bytes at hand are used up (it never
    /// waits for more input once it has output to return, nor while zlib still holds output
    /// for the input it has consumed).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        if let pendingError { throw pendingError }
        guard !finished, let out = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var produced = 0
        while produced < buffer.count {
            if stream.pointee.avail_in == 0 && !outputPending {
                if produced > 0 { return produced }
                if !innerEnded {
                    let n: Int
                    do { n = try inner.read(into: input) } catch {
                        return try fail(error, produced: produced)
                    }
                    if n == 0 { innerEnded = true } else {
                        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                        stream.pointee.avail_in = uInt(n)
                    }
                }
                if stream.pointee.avail_in == 0 {
                    if inMember {
                        return try fail(RecordError(.corruptCompression,
                            "the gzip stream is truncated: it ends inside a member at compressed byte \(consumed)",
                            byteOffset: consumed), produced: produced)
                    }
                    finished = true
                    return produced
                }
            }
            inMember = true
            let availIn = Int(stream.pointee.avail_in)
            let room = min(buffer.count - produced, Int(UInt32.max))
            stream.pointee.next_out = (out + produced).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let status = inflate(stream, Z_NO_FLUSH)
            let used = availIn - Int(stream.pointee.avail_in)
            produced += room - Int(stream.pointee.avail_out)
            outputPending = status == Z_OK && stream.pointee.avail_out == 0
            switch status {
            case Z_OK, Z_BUF_ERROR:
                consumed += used
            case Z_STREAM_END:
                consumed += used
                // The next member, if any, starts right after; inflateReset keeps the header
                // auto-detection of windowBits + 32.
                inMember = false
                inflateReset(stream)
            default:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                // zlib stops at the faulty byte (or just past it) within this call's input.
                let at = consumed + used
                return try fail(RecordError(.corruptCompression,
                    "the gzip data is corrupt at compressed byte \(at): \(detail)", byteOffset: at),
                    produced: produced)
            }
        }
        return produced
    }

    /// Returns the bytes decoded before `error` now and throws it on the next call.
    private func fail(_ error: RecordError, produced: Int) throws(RecordError) -> Int {
        pendingError = error
        if produced > 0 { return produced }
        throw error
    }
}
