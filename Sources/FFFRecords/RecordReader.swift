#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads fixed-width Float records from a byte stream, in any `RecordFormat`, gzip-compressed
/// or not (gzip is recognised by its magic `1f 8b 08` in every format, unless
/// `RecordReaderOptions.detectGzip` is off).
///
/// ```swift
/// let reader = try RecordReader(source: FileDescriptorSource(), format: .auto, expectedWidth: 784)
/// let record = UnsafeMutableBufferPointer<Float>.allocate(capacity: 784)
/// while try reader.next(into: record) { ... }
/// ```
///
/// Values are the raw numbers of the input (a u8 pixel gives 0...255), with no preprocessing.
///
/// Errors: every problem is a `RecordError` naming the record (1-based, counting records only),
/// the column for text, and the byte offset. All whole records before a problem are returned
/// first; after `next` throws, the reader is spent and every later call throws the same error.
///
/// Cost: in the steady state `next` allocates nothing and costs O(bytes of the record). The
/// read buffer (default 1 MiB) grows only for a record or line larger than it, and a text
/// line longer than `maxLineBytes` is an error rather than unbounded buffering.
///
/// A reader is a class (it owns its buffer and source) for one thread at a time.
public final class RecordReader {
    /// The number of values in every record.
    public let expectedWidth: Int
    /// The format asked for (possibly `.auto`).
    public let requestedFormat: RecordFormat
    /// The settings in force.
    public let options: RecordReaderOptions
    /// The format found, once the first `next` (or `prepare`) has looked at the input: never
    /// `.auto`; text input detected by `.auto` reports `.csv`, `.tsv` or `.text`. Nil before,
    /// and for empty input.
    public private(set) var format: RecordFormat?
    /// Whether the input is gzip-compressed (known after `prepare`).
    public private(set) var isCompressed = false
    /// Whether a thread of its own inflates the gzip input (a regular file with
    /// `inflatesOnThread`): the process then uses one more core than its own threads.
    public private(set) var inflatesOnItsOwnThread = false
    /// The number of records an IDX or NPY header declares (after `prepare`), else nil.
    public private(set) var declaredRecordCount: Int?
    /// What the reader decided that the user should hear of, in words, in the order met: a
    /// first line of column numbers skipped as a header. A program shows them as notes.
    public private(set) var notices: [String] = []
    /// The first line numbered the columns after an empty field (pandas' row index).
    private var rowIndexColumn = false
    /// The number of records `next` has returned.
    public private(set) var recordsRead = 0
    /// The bytes of the (decompressed) stream consumed so far: headers, records, line endings.
    public var bytesConsumed: Int { buffer.offset(of: buffer.start) }

    let buffer: InputBuffer

    /// Whether ``nextRun(maxRecords:targetBytes:mayRead:)`` may hand out runs of a regular
    /// file before their bytes are read, for the threads that decode them to read their own
    /// parts (``Run/fill(records:)``; text: ``Run/fill(bytes:)``, then
    /// ``Run/wholeLines(readTo:)``): the copy out of the page cache then runs on every core,
    /// each part into the cache of the core that uses it, instead of on one core while the
    /// others wait. Pipes and gzip are read as before.
    public var readsRunsInParts = false
    /// A run handed out with unread parts: the bytes at hand before it, and the file offset of
    /// the first byte not read (the descriptor's offset, which `pread` leaves alone).
    private var partsPending: (atHand: Int, file: FileDescriptorSource)?
    private var prepared = false
    private var failure: RecordError?
    private let maxLineBytes: Int

    // Binary formats.
    private var element = ElementType.u8
    private var recordBytes = 0
    private var headerName = ""

    // Text formats.
    private var separator: TextLineParser.Separator?
    private var headerDecided = false
    private var lineNumber = 0
    private var pendingBlankLine: Int?

    /// The largest `expectedWidth` accepted.
    public static let maxWidth = IDXHeader.maxRecordWidth

    /// A reader of `source` in `format` for records of `expectedWidth` values. Reads nothing
    /// yet. Throws `.invalidArgument` when `expectedWidth` is not in 1...`maxWidth` or
    /// `options.maxLineBytes` is below 1.
    public init(source: any ByteSource, format: RecordFormat, expectedWidth: Int,
                options: RecordReaderOptions = RecordReaderOptions()) throws(RecordError) {
        guard (1...Self.maxWidth).contains(expectedWidth) else {
            throw RecordError(.invalidArgument, "the record width must be between 1 and \(Self.maxWidth), not \(expectedWidth)")
        }
        if let m = options.maxLineBytes, m < 1 {
            throw RecordError(.invalidArgument, "maxLineBytes must be at least 1, not \(m)")
        }
        self.expectedWidth = expectedWidth
        self.requestedFormat = format
        self.options = options
        maxLineBytes = options.maxLineBytes ?? min(64 << 20, expectedWidth * 64 + 4096)
        buffer = InputBuffer(source: source, capacity: options.bufferSize)
    }

    /// Stores the next record's `expectedWidth` values at the start of `record` and returns
    /// true, or returns false at the clean end of the input (at once for empty input).
    /// Precondition: `record.count >= expectedWidth`. On a throw, `record` holds unspecified
    /// values. O(record bytes); no allocation in the steady state.
    public func next(into record: UnsafeMutableBufferPointer<Float>) throws(RecordError) -> Bool {
        precondition(record.count >= expectedWidth, "the record buffer holds \(record.count) Floats; \(expectedWidth) are needed")
        if partsPending != nil { commit(records: 0, bytes: 0) }
        if let failure { throw failure }
        do {
            if !prepared { try prepare() }
            guard let format else { return false }
            let found = format.isText ? try nextText(record.baseAddress!) : try nextBinary(record.baseAddress!)
            if found { recordsRead += 1 }
            return found
        } catch {
            var error = error
            if error.recordNumber == nil && (error.kind == .io || error.kind == .corruptCompression) {
                // A source failure: say which record it interrupted.
                let number = recordsRead + 1
                error = RecordError(error.kind, "\(error.message) (reading record \(number))", recordNumber: number,
                                    column: error.column, byteOffset: error.byteOffset)
            }
            failure = error
            throw error
        }
    }

    /// The next record as a new array, or nil at the end: a convenience that allocates.
    public func next() throws(RecordError) -> [Float]? {
        var values = [Float](repeating: 0, count: expectedWidth)
        let found = try values.withUnsafeMutableBufferPointer { (b: inout UnsafeMutableBufferPointer<Float>) throws(RecordError) -> Bool in
            try next(into: b)
        }
        return found ? values : nil
    }

    /// Looks at the start of the input: detects gzip, resolves `.auto`, reads and checks an
    /// IDX or NPY header. `next` calls it; call it first to learn `format`,
    /// `declaredRecordCount` and `isCompressed`, or to get header errors early. Idempotent.
    public func prepare() throws(RecordError) {
        if prepared { return }
        if let failure { throw failure }
        do {
            try detectGzip()
            try resolveFormat()
            prepared = true
        } catch {
            failure = error
            throw error
        }
    }

    private func detectGzip() throws(RecordError) {
        guard options.detectGzip else { return }
        // Read no more than needed to decide, so a producer that writes one short record and
        // waits for the answer is served.
        try readUntil { GzipSource.recognises($0) != nil }
        let head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: buffer.available)
        guard GzipSource.recognises(head) == true else { return }
        if options.inflatesOnThread, let file = buffer.source as? FileDescriptorSource, file.isRegularFile {
            // ISA-L's inflate (zlib's errors), on a thread of its own.
            let gzip: any ByteSource
            if let fast = FastGzipSource(file: file, prefix: head) {
                gzip = fast
            } else {
                gzip = try GzipSource(wrapping: file, prefix: head)
            }
            buffer.replaceSource(with: InflateThread(source: gzip))
            inflatesOnItsOwnThread = true
        } else {
            buffer.replaceSource(with: try GzipSource(wrapping: buffer.source, prefix: head))
        }
        isCompressed = true
    }

    /// Reads until `decided` holds for the bytes at hand or the input ends.
    private func readUntil(_ decided: (UnsafeRawBufferPointer) -> Bool) throws(RecordError) {
        while !decided(UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: buffer.available)) {
            if try buffer.readMore(growthLimit: 1 << 16) == 0 { return }
        }
    }

    private func resolveFormat() throws(RecordError) {
        var resolved = requestedFormat
        if resolved == .auto {
            // Enough bytes to rule the NPY and IDX magics in or out.
            try readUntil { head in
                let npy = zip(head, NPYHeader.magic).allSatisfy { $0 == $1 }
                let idx = head.prefix(4).enumerated().allSatisfy { i, b in
                    i < 2 ? b == 0 : i == 2 ? IDXHeader.isTypeCode(b) : b >= 1
                }
                return (!npy || head.count >= 6) && (!idx || head.count >= 4)
            }
            let head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: buffer.available)
            if NPYHeader.looksLikeNPY(head) {
                resolved = .npy
            } else if IDXHeader.looksLikeIDX(head) {
                resolved = .idx
            } else {
                try rejectKnownSignature()
                resolved = .text  // refined to csv/tsv by the first line
            }
        }
        _ = try buffer.fill(atLeast: 1)
        if buffer.available == 0 { return }  // empty input: no format, no records
        switch resolved {
        case .idx: try readIDXHeader()
        case .npy: try readNPYHeader()
        case .f32: element = .f32
        case .f64: element = .f64
        case .u8: element = .u8
        case .csv: separator = .comma
        case .tsv: separator = .tab
        case .text: separator = requestedFormat == .auto ? nil : .whitespace
        case .auto: preconditionFailure("resolved above")
        }
        if !resolved.isText {
            let (bytes, overflow) = expectedWidth.multipliedReportingOverflow(by: element.size)
            if overflow || bytes > Int(Int32.max) {
                throw RecordError(.invalidArgument, "records of \(expectedWidth) \(element.name) values are too large to buffer")
            }
            recordBytes = bytes
        }
        format = resolved
    }

    /// Fails with advice when the input is a file kind that holds no records fffrun reads (an
    /// image, an archive, another compressor, a pickle, a model file).
    private func rejectKnownSignature() throws(RecordError) {
        try readUntil { FileSignature.match($0) != .undecided }
        let head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: buffer.available)
        if case .found(let signature) = FileSignature.match(head) {
            throw RecordError(.unsupported, "this is \(signature.what). \(signature.advice)", byteOffset: 0)
        }
    }

    private func readIDXHeader() throws(RecordError) {
        headerName = "IDX"
        _ = try buffer.fill(atLeast: 4)
        var head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: buffer.available)
        if head.count < 4 {
            throw RecordError(.truncated, "the IDX header is truncated: \(head.count) of at least 4 bytes", byteOffset: 0)
        }
        let length = try IDXHeader.length(announcedBy: head)
        if !(try buffer.fill(atLeast: length)) {
            throw RecordError(.truncated, "the IDX header is truncated: \(buffer.available) of \(length) bytes", byteOffset: 0)
        }
        head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: length)
        let header = try IDXHeader.parse(head)
        let isOneRecord = options.wholeArrayIsOneRecord && header.recordCount * header.recordWidth == expectedWidth
        guard header.recordWidth == expectedWidth || isOneRecord else {
            if options.wholeArrayIsOneRecord {
                throw RecordError(.wrongWidth,
                    "the IDX array holds \(header.recordCount * header.recordWidth) values; one record of \(expectedWidth) values is expected", byteOffset: 4)
            }
            throw RecordError(.wrongWidth,
                "IDX records are \(header.recordShapeDescription); the model expects \(expectedWidth)", byteOffset: 4)
        }
        element = header.element
        declaredRecordCount = isOneRecord ? 1 : header.recordCount
        buffer.consume(length)
    }

    private func readNPYHeader() throws(RecordError) {
        headerName = "NPY"
        _ = try buffer.fill(atLeast: 12)
        var head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: min(buffer.available, 12))
        let length = try NPYHeader.length(announcedBy: head)
        if !(try buffer.fill(atLeast: length)) {
            throw RecordError(.truncated, "the NPY header is truncated: \(buffer.available) of \(length) bytes", byteOffset: 0)
        }
        head = UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: length)
        let header = try NPYHeader.parse(head)
        let shape = header.shape
        let count: Int, width: Int
        let (values, overflow) = shape[0].multipliedReportingOverflow(by: shape.dropFirst().reduce(1, *))
        if options.wholeArrayIsOneRecord && !overflow && values == expectedWidth {
            (count, width) = (1, expectedWidth)  // one record of any shape: a 28x28 image
        } else if shape.count == 1 && expectedWidth == 1 {
            (count, width) = (shape[0], 1)  // a vector of scalars, such as labels
        } else if shape.count == 1 {
            (count, width) = (1, shape[0])
        } else {
            (count, width) = (shape[0], shape.dropFirst().reduce(1, *))
        }
        guard width == expectedWidth else {
            if options.wholeArrayIsOneRecord {
                let total = overflow ? "more than \(Int.max)" : "\(values)"
                throw RecordError(.wrongWidth,
                    "the NPY array holds \(total) values (shape \(NPYHeader.describe(shape))); one record of \(expectedWidth) values is expected")
            }
            let inner = shape.count == 1 ? "\(width) values (shape \(NPYHeader.describe(shape)) is one record)"
                : shape.count == 2 ? "\(width) values" : shape.dropFirst().map(String.init).joined(separator: "x") + " = \(width) values"
            throw RecordError(.wrongWidth, "NPY records are \(inner); the model expects \(expectedWidth)")
        }
        element = header.element
        declaredRecordCount = count
        buffer.consume(length)
    }

    // MARK: Binary records

    private func nextBinary(_ out: UnsafeMutablePointer<Float>) throws(RecordError) -> Bool {
        let number = recordsRead + 1
        let offset = bytesConsumed
        if let declared = declaredRecordCount, recordsRead >= declared {
            if try buffer.fill(atLeast: 1) {
                throw RecordError(.trailingData,
                    "the \(headerName) header declares \(declared) records, but data continues after them at byte \(offset)",
                    recordNumber: number, byteOffset: offset)
            }
            return false
        }
        if !(try buffer.fill(atLeast: recordBytes)) {
            let have = buffer.available
            if let declared = declaredRecordCount {
                let got = have == 0 ? "it ends after \(recordsRead)"
                    : "it ends inside record \(number) (\(have) of \(recordBytes) bytes)"
                throw RecordError(.truncated, "the \(headerName) header declares \(declared) records, but \(got)",
                                  recordNumber: number, byteOffset: offset + have)
            }
            if have == 0 { return false }
            throw RecordError(.truncated, "record \(number) is truncated: \(have) of \(recordBytes) bytes",
                              recordNumber: number, byteOffset: offset)
        }
        let bytes = UnsafeRawPointer(buffer.storage + buffer.start)
        element.decode(bytes, count: expectedWidth, into: out)
        if element.kind == .float && !options.allowNonFinite {
            for i in 0..<expectedWidth where !out[i].isFinite {
                let original = element.value(bytes, at: i)
                let what = original.isNaN ? "is NaN" : original.isInfinite ? "is infinite"
                    : "(\(original)) is beyond the Float range"
                throw RecordError(.nonFinite, "record \(number), value \(i + 1) \(what)",
                                  recordNumber: number, column: i + 1, byteOffset: offset + i * element.size)
            }
        }
        buffer.consume(recordBytes)
        return true
    }

    // MARK: Text records

    /// The next line without its `\n`, valid until the next buffer operation, and its offset;
    /// nil at the end of the input.
    private func nextLine() throws(RecordError) -> (UnsafeBufferPointer<UInt8>, offset: Int)? {
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            let s = buffer.storage + buffer.start
            let available = buffer.available
            if available > scanned, let found = memchr(s + scanned, 0x0A, available - scanned) {
                let length = found.assumingMemoryBound(to: UInt8.self) - s
                try checkLineLength(length)
                let offset = bytesConsumed
                buffer.consume(length + 1)
                return (UnsafeBufferPointer(start: s, count: length), offset)
            }
            scanned = available
            try checkLineLength(available)
            if try buffer.readMore(growthLimit: maxLineBytes + 2) == 0 {
                if buffer.available == 0 { return nil }
                let offset = bytesConsumed
                let length = buffer.available
                let line = UnsafeBufferPointer(start: buffer.storage + buffer.start, count: length)
                buffer.consume(length)
                return (line, offset)
            }
        }
    }

    private func checkLineLength(_ length: Int) throws(RecordError) {
        if length > maxLineBytes {
            let number = recordsRead + 1
            throw RecordError(.lineTooLong,
                "\(place(number, line: lineNumber + 1)) is longer than \(maxLineBytes) bytes (no line end found)",
                recordNumber: number, byteOffset: bytesConsumed)
        }
    }

    private func nextText(_ out: UnsafeMutablePointer<Float>) throws(RecordError) -> Bool {
        while true {
            guard var (line, offset) = try nextLine() else { return false }
            lineNumber += 1
            if lineNumber == 1 && line.starts(with: [0xEF, 0xBB, 0xBF]) {  // UTF-8 byte order mark
                line = UnsafeBufferPointer(rebasing: line[3...])
                offset += 3
            }
            if TextLineParser.isBlank(line) {
                if pendingBlankLine == nil { pendingBlankLine = lineNumber }
                continue
            }
            if TextLineParser.isComment(line) {
                try checkText(line, offset: offset)
                continue
            }
            let number = recordsRead + 1
            if let blank = pendingBlankLine {
                throw RecordError(.emptyRecord,
                    "\(place(number, line: blank)) is empty (blank lines are accepted only at the end)",
                    recordNumber: number)
            }
            if separator == nil { separator = TextLineParser.Separator.detect(line) }
            let separator = separator!
            if !headerDecided {
                headerDecided = true
                if format == .text && requestedFormat == .auto {
                    format = separator == .comma ? .csv : separator == .tab ? .tsv : .text
                }
                if options.header == .skip || (options.header == .auto && TextLineParser.isHeader(line, separator: separator)) {
                    try checkText(line, offset: offset)
                    continue
                }
                if options.header == .auto,
                   let kind = TextLineParser.columnNumbers(line, separator: separator, width: expectedWidth) {
                    let text = String(decoding: line.prefix(24), as: UTF8.self)
                    notices.append("line \(lineNumber) (\(text)\(line.count > 24 ? "..." : "")) numbers the columns, as pandas' to_csv writes a header: "
                        + "skipped as a header (--header none reads it as a record)")
                    rowIndexColumn = kind == .afterRowIndex
                    continue
                }
            }
            switch TextLineParser.parse(line, separator: separator, into: out, capacity: expectedWidth,
                                        allowNonFinite: options.allowNonFinite) {
            case .values(let count):
                if count != expectedWidth {
                    let hint = rowIndexColumn && count == expectedWidth + 1
                        ? " (its first column is a row index, as pandas' to_csv writes without index=False: drop it, e.g. with cut -d, -f2-)" : ""
                    throw RecordError(.wrongWidth,
                        "\(place(number, line: lineNumber)) has \(count) value\(count == 1 ? "" : "s"); the model expects \(expectedWidth)\(hint)",
                        recordNumber: number, byteOffset: offset)
                }
                return true
            case .failure(let failure):
                throw describe(failure, line: line, offset: offset, number: number)
            }
        }
    }

    /// "record 5", or "record 5 (line 7)" when lines and records are numbered differently.
    private func place(_ record: Int, line: Int) -> String {
        line == record ? "record \(record)" : "record \(record) (line \(line))"
    }

    /// Rejects NUL bytes and invalid UTF-8 in a line that is skipped (a header or comment), so
    /// binary input read as text fails at its first line rather than later.
    private func checkText(_ line: UnsafeBufferPointer<UInt8>, offset: Int) throws(RecordError) {
        let number = recordsRead + 1
        try TextLineParser.checkIsText(line, offset: offset, place: place(number, line: lineNumber),
                                       recordNumber: number, hint: binaryHint)
    }

    private var binaryHint: String {
        requestedFormat == .auto ? " (binary input? name its format: f32, f64 or u8)" : ""
    }

    private func describe(_ failure: TextLineParser.Failure, line: UnsafeBufferPointer<UInt8>, offset: Int,
                          number: Int) -> RecordError {
        TextLineParser.error(for: failure, in: line, offset: offset, place: place(number, line: lineNumber),
                             recordNumber: number, hint: binaryHint)
    }
}

// MARK: Runs: many records at once, decoded by several threads

extension RecordReader {
    /// Whole records at the front of the reader's buffer, handed out at once so that several
    /// threads can decode them (``RunDecoder``) while the reader waits: for binary formats
    /// `count` records of `recordBytes` bytes each; for text, whole lines (the last ends with
    /// `\n`), or, with ``hasUnreadBytes`` (``RecordReader/readsRunsInParts``), bytes to read
    /// and then cut to whole lines. Valid until the next call on the reader.
    public struct Run {
        /// The bytes of the run.
        public let bytes: UnsafeRawBufferPointer
        /// Records in the run (binary); 0 for text, whose lines are counted as they are parsed.
        public let count: Int
        /// Bytes per record (binary); 0 for text.
        public let recordBytes: Int
        /// Bytes from this index on are not read yet (``fill(records:)`` reads them);
        /// `bytes.count` when every byte is at hand.
        let unreadFrom: Int
        /// The file the unread bytes come from, and the offset of `bytes[unreadFrom]` in it.
        let file: FileDescriptorSource?
        let fileOffset: Int

        init(bytes: UnsafeRawBufferPointer, count: Int, recordBytes: Int) {
            self.init(bytes: bytes, count: count, recordBytes: recordBytes, unreadFrom: bytes.count, file: nil, fileOffset: 0)
        }

        init(bytes: UnsafeRawBufferPointer, count: Int, recordBytes: Int, unreadFrom: Int,
             file: FileDescriptorSource?, fileOffset: Int) {
            self.bytes = bytes
            self.count = count
            self.recordBytes = recordBytes
            self.unreadFrom = unreadFrom
            self.file = file
            self.fileOffset = fileOffset
        }

        /// Whether the run holds lines of text.
        public var isText: Bool { recordBytes == 0 }

        /// Whether bytes of the run are not read yet (``fill(bytes:)`` reads them).
        public var hasUnreadBytes: Bool { unreadFrom < bytes.count }

        /// Binary: makes records `records` of the run readable, reading those of their bytes
        /// not at hand yet from the file (one `pread`), and returns how many of them, from the
        /// first, are whole: fewer only where the file ended or failed early (the reader's
        /// `next` then meets that end or error at the same record). Threads may fill disjoint
        /// ranges at once. O(bytes read).
        public func fill(records: Range<Int>) -> Int {
            fill(bytes: records.lowerBound * recordBytes ..< records.upperBound * recordBytes) / recordBytes
        }

        /// Makes bytes `range` of the run readable, reading those not at hand yet from the file
        /// (one `pread`), and returns how many of them, from the first, are there: fewer only
        /// where the file ended or failed early. Threads may fill disjoint ranges at once.
        /// O(bytes read).
        public func fill(bytes range: Range<Int>) -> Int {
            let unread = max(range.lowerBound, unreadFrom)
            guard unread < range.upperBound, let file, let base = bytes.baseAddress else { return range.count }
            let got = file.read(into: UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base + unread),
                                                                    count: range.upperBound - unread),
                                at: fileOffset + (unread - unreadFrom))
            return unread + got - range.lowerBound
        }

        /// Text: piece `k` of `n` about equal pieces of the run's bytes, which `n` threads may
        /// fill at once (``fill(bytes:)``). O(1).
        public func piece(_ k: Int, of n: Int) -> Range<Int> {
            (k * bytes.count / n) ..< ((k + 1) * bytes.count / n)
        }

        /// Text: the run cut to the whole lines read, once each piece `k` of `readTo.count`
        /// (``piece(_:of:)``) was filled up to `readTo[k]`: the bytes before the first piece
        /// read short (the file ended or failed there), up to and including their last line end;
        /// nothing when they hold none. O(pieces + length of the last, unfinished line).
        public func wholeLines(readTo: UnsafeBufferPointer<Int>) -> Run {
            var length = bytes.count
            for k in readTo.indices where readTo[k] < piece(k, of: readTo.count).upperBound {
                length = readTo[k]
                break
            }
            while length > 0 && bytes[length - 1] != 0x0A { length -= 1 }
            return Run(bytes: UnsafeRawBufferPointer(rebasing: bytes[0 ..< length]), count: 0, recordBytes: 0)
        }
    }

    /// What decodes the records of a ``Run``: a value that any number of threads may use at
    /// once, each on its own part of the run and its own output.
    public struct RunDecoder: Sendable {
        let width: Int
        let element: ElementType
        let recordBytes: Int
        let separator: TextLineParser.Separator?
        let allowNonFinite: Bool
        let maxLineBytes: Int

        /// Binary records of unsigned bytes (u8, IDX of type 0x08): each value is its byte, and
        /// every record is plain, so the bytes of a run can be evaluated as they are
        /// (`InferenceModel.predictBatch` over `UInt8`) without ``decode(_:records:into:)``.
        public var recordsAreBytes: Bool { separator == nil && element.kind == .unsigned && element.size == 1 }

        /// Binary: decodes records `records` of `run` into `out` (record-major, `width` Floats
        /// each) and returns how many were decoded before the first record that the reader
        /// would refuse (a NaN or infinity without `allowNonFinite`), or all of them.
        public func decode(_ run: Run, records: Range<Int>, into out: UnsafeMutablePointer<Float>) -> Int {
            guard let base = run.bytes.baseAddress else { return 0 }
            var done = 0
            for r in records {
                let record = out + done * width
                element.decode(base + r * recordBytes, count: width, into: record)
                if element.kind == .float && !allowNonFinite {
                    for i in 0..<width where !record[i].isFinite { return done }
                }
                done += 1
            }
            return done
        }

        /// Text: parses the lines of `bytes` (whole lines of a run, the last ending with `\n`)
        /// into at most `capacity` records at `out`, and stops at the first line that is not a
        /// plain record of `width` numbers (a blank or comment line, a bad or overlong line:
        /// the reader's `next` reports it). Returns the records parsed and the bytes of their
        /// lines, line ends included. O(bytes).
        public func parseLines(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>,
                               capacity: Int) -> (records: Int, bytes: Int) {
            guard let separator, let start = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return (0, 0) }
            let end = start + bytes.count
            var p = start
            var records = 0
            while records < capacity && p < end {
                guard let found = memchr(p, 0x0A, end - p) else { break }
                let lineEnd = UnsafePointer(found.assumingMemoryBound(to: UInt8.self))
                let length = lineEnd - p
                if length > maxLineBytes { break }
                let outcome = TextLineParser.parse(UnsafeBufferPointer(start: p, count: length), separator: separator,
                                                   into: out + records * width, capacity: width,
                                                   allowNonFinite: allowNonFinite)
                guard outcome == .values(width) else { break }
                records += 1
                p = lineEnd + 1
            }
            return (records, p - start)
        }

        /// Splits a text run's bytes into `parts` consecutive pieces of about equal size, each
        /// ending at a line end (some may be empty). O(parts + longest line).
        public func split(_ bytes: UnsafeRawBufferPointer, parts: Int) -> [Range<Int>] {
            split(bytes, at: (0..<parts).map { $0 + 1 }, of: parts)
        }

        /// Splits a text run's bytes into consecutive pieces, piece `k` ending about
        /// `ends[k] / total` of the way through (`ends` ascending, the last equal to `total`),
        /// each at a line end (some may be empty). O(pieces + longest line).
        public func split(_ bytes: UnsafeRawBufferPointer, at ends: [Int], of total: Int) -> [Range<Int>] {
            var ranges: [Range<Int>] = []
            ranges.reserveCapacity(ends.count)
            guard let base = bytes.baseAddress, total > 0 else { return Array(repeating: 0..<0, count: ends.count) }
            var from = 0
            for (k, end) in ends.enumerated() {
                var to = k == ends.count - 1 ? bytes.count : min(bytes.count, max(from, bytes.count * end / total))
                if to < bytes.count && to > from {
                    // Move to just after the next line end at or after `to - 1`.
                    if let found = memchr(base + (to - 1), 0x0A, bytes.count - (to - 1)) {
                        to = UnsafeRawPointer(found) - base + 1
                    } else {
                        to = bytes.count
                    }
                }
                ranges.append(from..<to)
                from = to
            }
            return ranges
        }
    }

    /// The decoder of this reader's runs (after `prepare`).
    public var runDecoder: RunDecoder {
        RunDecoder(width: expectedWidth, element: element, recordBytes: recordBytes, separator: separator,
                   allowNonFinite: options.allowNonFinite, maxLineBytes: maxLineBytes)
    }

    /// The next records as a ``Run`` to be decoded in parallel and then passed to
    /// ``commit(records:bytes:)``, or nil when they must come through `next(into:)` (before
    /// the first record of text, after a blank line, at the end of the input or of the records
    /// an IDX/NPY header declares, when no whole record is at hand, after an error).
    ///
    /// Reads until about `targetBytes` (binary: `maxRecords` records) are at hand, the input
    /// ends, or `mayRead` (asked only while at least one whole record is at hand) says that a
    /// read could wait: a producer waiting for the answers to the records it sent is served.
    /// A read error after whole records is kept for the next read, so that those records are
    /// delivered first and the error names the same record as `next` would.
    public func nextRun(maxRecords: Int, targetBytes: Int, mayRead: () -> Bool) throws(RecordError) -> Run? {
        if partsPending != nil { commit(records: 0, bytes: 0) }
        if failure != nil || !prepared || maxRecords < 1 { return nil }
        guard let format else { return nil }
        do {
            if format.isText {
                return try nextTextRun(targetBytes: max(1, targetBytes), mayRead: mayRead)
            }
            return try nextBinaryRun(maxRecords: maxRecords, mayRead: mayRead)
        } catch {
            var error = error
            if error.recordNumber == nil && (error.kind == .io || error.kind == .corruptCompression) {
                let number = recordsRead + 1
                error = RecordError(error.kind, "\(error.message) (reading record \(number))", recordNumber: number,
                                    column: error.column, byteOffset: error.byteOffset)
            }
            failure = error
            throw error
        }
    }

    /// Marks the first `records` records of the last run, `bytes` bytes (for text, whole lines
    /// each holding one record), as read.
    public func commit(records: Int, bytes: Int) {
        if let (atHand, file) = partsPending {
            // Of a run read in parts, the committed bytes beyond those at hand before it count
            // as read; the rest is read again by the next read, from where the commit ends.
            partsPending = nil
            let fromFile = max(0, bytes - atHand)
            buffer.extend(by: fromFile)
            do {
                try file.skip(fromFile)
            } catch {
                buffer.deferredError = error
            }
        }
        precondition(records >= 0 && bytes >= 0 && bytes <= buffer.available, "commit beyond the run")
        buffer.consume(bytes)
        recordsRead += records
        if format?.isText == true { lineNumber += records }
    }

    private func nextBinaryRun(maxRecords: Int, mayRead: () -> Bool) throws(RecordError) -> Run? {
        var wanted = maxRecords
        if let declared = declaredRecordCount { wanted = min(wanted, declared - recordsRead) }
        if wanted <= 0 { return nil }
        let (target, overflow) = wanted.multipliedReportingOverflow(by: recordBytes)
        let bytes = overflow ? Int.max : target
        if readsRunsInParts, buffer.available < bytes, let run = runInParts(wanted: wanted) { return run }
        while buffer.available < bytes {
            if buffer.available >= recordBytes && !mayRead() { break }
            let read: Int
            do {
                read = try buffer.readMore(growthLimit: max(bytes, recordBytes))
            } catch {
                if buffer.available >= recordBytes {
                    buffer.deferredError = error
                    break
                }
                throw error
            }
            if read == 0 { break }
        }
        let count = min(wanted, buffer.available / recordBytes)
        if count == 0 { return nil }
        return Run(bytes: UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: count * recordBytes),
                   count: count, recordBytes: recordBytes)
    }

    /// A binary run of up to `wanted` records of a regular file, its bytes beyond those at hand
    /// not read yet (``Run/fill(records:)``), or nil when the file has no whole record more
    /// than those at hand (or is not a regular file whose size and offset are known).
    private func runInParts(wanted: Int) -> Run? {
        guard let (file, position, size) = partsReadable() else { return nil }
        let count = min(wanted, (buffer.available + max(0, size - position)) / recordBytes)
        return runInParts(length: count * recordBytes, count: count, recordBytes: recordBytes, of: file, at: position)
    }

    /// A text run of up to `bytes` bytes of a regular file, those beyond the bytes at hand not
    /// read yet (``Run/fill(bytes:)``), to be cut to whole lines once read
    /// (``Run/wholeLines(readTo:)``), or nil as for binary runs.
    private func runInParts(bytes: Int) -> Run? {
        guard let (file, position, size) = partsReadable() else { return nil }
        let length = min(bytes, buffer.available + max(0, size - position))
        return runInParts(length: length, count: 0, recordBytes: 0, of: file, at: position)
    }

    /// The source, its offset and its size, when it is a regular file that runs may be read
    /// from in parts.
    private func partsReadable() -> (file: FileDescriptorSource, position: Int, size: Int)? {
        guard let file = buffer.source as? FileDescriptorSource, file.isRegularFile, buffer.deferredError == nil,
              !buffer.atEOF, let position = file.filePosition, let size = file.regularFileSize else { return nil }
        return (file, position, size)
    }

    /// A run of the `length` bytes from the first at hand on, those after the bytes at hand to
    /// come from `file` at `position`; nil when every byte is at hand.
    private func runInParts(length: Int, count: Int, recordBytes: Int, of file: FileDescriptorSource,
                            at position: Int) -> Run? {
        let atHand = buffer.available
        if length <= atHand { return nil }
        buffer.reserve(length)
        partsPending = (atHand, file)
        return Run(bytes: UnsafeRawBufferPointer(start: buffer.storage + buffer.start, count: length),
                   count: count, recordBytes: recordBytes, unreadFrom: atHand, file: file, fileOffset: position)
    }

    private func nextTextRun(targetBytes: Int, mayRead: () -> Bool) throws(RecordError) -> Run? {
        guard headerDecided, separator != nil, pendingBlankLine == nil, lineNumber > 0 else { return nil }
        if readsRunsInParts, buffer.available < targetBytes, let run = runInParts(bytes: targetBytes) { return run }
        var scanned = 0  // bytes after `start` known to hold no newline
        var haveLine = false
        while buffer.available < targetBytes {
            if !haveLine, buffer.available > scanned {
                haveLine = memchr(buffer.storage + buffer.start + scanned, 0x0A, buffer.available - scanned) != nil
                scanned = buffer.available
            }
            if haveLine && !mayRead() { break }
            if !haveLine && buffer.available > maxLineBytes { return nil }  // `next` reports it
            let read: Int
            do {
                read = try buffer.readMore(growthLimit: max(targetBytes, maxLineBytes + 2))
            } catch {
                if haveLine {
                    buffer.deferredError = error
                    break
                }
                throw error
            }
            if read == 0 { break }
        }
        // Whole lines up to about `targetBytes`: the last line end within them, else the first.
        let start = buffer.storage + buffer.start
        let available = buffer.available
        var length = min(available, targetBytes)
        while length > 0 && start[length - 1] != 0x0A { length -= 1 }
        if length == 0 {
            let from = min(available, targetBytes)
            guard from < available, let found = memchr(start + from, 0x0A, available - from) else { return nil }
            length = found.assumingMemoryBound(to: UInt8.self) - start + 1
        }
        return Run(bytes: UnsafeRawBufferPointer(start: start, count: length), count: 0, recordBytes: 0)
    }
}
