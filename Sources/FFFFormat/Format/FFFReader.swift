/// Reads and validates FFF files (spec/FORMAT.md).
///
/// Every check of the spec is applied, in the order of its §16, so the first error reported is
/// the one every conforming implementation reports. Hostile input cannot make the reader trap,
/// overflow or allocate by an unchecked declaration: sizes are checked against the file, the
/// spec's limits and `Options.maxDecodedBytes` before anything is allocated for them.
///
/// ```swift
/// let model = try FFFReader.read(contentsOf: "mnist.fff")
/// ```
public enum FFFReader {
    /// Limits a caller may adjust.
    public struct Options: Sendable {
        /// The most decoded payload bytes, summed over all sections, the reader accepts before
        /// decoding anything (`limit-exceeded` beyond). Default 4 GiB.
        public var maxDecodedBytes: UInt64
        /// The largest file `read(contentsOf:)` accepts (`limit-exceeded` beyond). Default 8 GiB.
        public var maxFileBytes: UInt64

        /// The bytes read from a file at a time, and the scratch for unshuffling in place (at
        /// most; less for a smaller model). Internal: tests and fuzzers shrink it to make every
        /// section span many pieces.
        var workspaceLimit = 1 << 20

        public init(maxDecodedBytes: UInt64 = 4 << 30, maxFileBytes: UInt64 = 8 << 30) {
            self.maxDecodedBytes = maxDecodedBytes
            self.maxFileBytes = maxFileBytes
        }
    }

    /// Reads the model in the file at `path`.
    ///
    /// A regular file is read piece by piece, never whole: peak memory is the decoded sections
    /// plus about 1 MiB (the header and table, one piece, libzstd's state), and a file that
    /// changes while it is read fails with `io-error` instead of yielding unchecked bytes. Other
    /// files (pipes, devices) are read into memory first, never more than their header declares.
    /// - Throws: `FFFError`: `io-error` if the file cannot be read, otherwise the spec's code for
    ///   the first problem found.
    /// - Complexity: O(file size + decoded size).
    public static func read(contentsOf path: String, options: Options = Options()) throws(FFFError) -> FFFModel {
        try readFile(contentsOf: path, options: options).model
    }

    /// Reads a model from the bytes of a file. The buffer may start at any alignment.
    public static func read(bytes: UnsafeRawBufferPointer, options: Options = Options()) throws(FFFError) -> FFFModel {
        try readFile(bytes: bytes, options: options).model
    }

    /// Reads a model from the bytes of a file.
    public static func read(bytes: some Collection<UInt8>, options: Options = Options()) throws(FFFError) -> FFFModel {
        try readFile(bytes: bytes, options: options).model
    }

    /// Reads the file at `path` and returns its layout with its model.
    public static func readFile(contentsOf path: String, options: Options = Options()) throws(FFFError) -> FFFFile {
        let file = try FileIO.InputFile(path)
        guard let length = file.regularSize else {
            return try readFile(bytes: load(file, options: options), options: options)
        }
        var parser = try FileParser(file: file, length: length, options: options)
        let layout = try parser.parseLayout()
        let model = try parser.parseModel()
        return FFFFile(layout: layout, model: model, payloads: parser.payloads)
    }

    /// The bytes of a file that is not a regular file (a pipe, a device), but never more than its header allows: the header is
    /// read and checked first (§16 steps 1 ... 5 need nothing else), then at most
    /// `declared length + 1` bytes, enough to tell step 6's outcomes apart. So a huge or endless
    /// non-FFF input (`/dev/zero`) costs 32 bytes, and a header declaring more than
    /// `Options.maxFileBytes` cannot make the reader hold more.
    static func load(_ file: FileIO.InputFile, options: Options) throws(FFFError) -> [UInt8] {
        let head = try file.read(upTo: FileParser.headerSize)
        if head.count < FileParser.headerSize { return head }  // the parser reports it
        let header = try head.withBytes { buffer throws(FFFError) in
            var parser = FileParser(buffer, options: options)
            return try parser.parseHeader()
        }
        let declared = header.declaredLength
        let want = declared == .max ? UInt64.max : declared + 1
        let allowed = options.maxFileBytes == .max ? UInt64.max : options.maxFileBytes + 1
        let cap = min(want, allowed, UInt64(Int.max))
        let bytes = try file.read(upTo: Int(cap), after: head)
        if UInt64(bytes.count) >= want {
            // More than the header declares: step 6's trailing-bytes, whatever follows.
            var extra = "bytes follow"
            if let size = file.regularSize, UInt64(size) > declared {
                extra = "\(UInt64(size) - declared) bytes follow"
            }
            throw FFFError(.trailingBytes, "\(extra) the declared file length \(declared)", offset: Int(declared))
        }
        if UInt64(bytes.count) == cap {
            throw FFFError(.limitExceeded, "the file is larger than this reader's limit of \(options.maxFileBytes) bytes (FFFReader.Options.maxFileBytes); its header declares \(declared)")
        }
        return bytes
    }

    /// Validates the bytes of a file and returns its layout with its model.
    public static func readFile(bytes: UnsafeRawBufferPointer, options: Options = Options()) throws(FFFError) -> FFFFile {
        var parser = FileParser(bytes, options: options)
        let layout = try parser.parseLayout()
        let model = try parser.parseModel()
        return FFFFile(layout: layout, model: model, payloads: parser.payloads)
    }

    /// Validates the bytes of a file and returns its layout with its model.
    public static func readFile(bytes: some Collection<UInt8>, options: Options = Options()) throws(FFFError) -> FFFFile {
        let result: Result<FFFFile, FFFError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(FFFError) in try readFile(bytes: UnsafeRawBufferPointer(buffer), options: options) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withBytes { buffer throws(FFFError) in
            try readFile(bytes: buffer, options: options)
        }
    }

    /// Checks only the file's structure — header, section table, layout and every checksum
    /// (§16 steps 1 ... 11) — without decoding any section.
    /// - Complexity: O(file size), for the checksums.
    public static func layout(of bytes: UnsafeRawBufferPointer) throws(FFFError) -> FFFFileLayout {
        var parser = FileParser(bytes, options: Options())
        return try parser.parseLayout()
    }
}
