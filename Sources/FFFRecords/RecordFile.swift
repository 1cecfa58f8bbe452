/// Reads one record from a file of its own, for `fffrun --files`. The format comes from the
/// content when it has a magic (gzip, NPY, IDX, PGM P5/P2), else from the extension, with a
/// final `.gz` ignored: `.csv`, `.tsv`, `.txt` (text), `.f32`, `.f64`, `.u8` (raw), `.npy`,
/// `.idx` (and MNIST's `*-ubyte` names), `.pgm`.
///
/// - Text files: every number of the file, in reading order across lines, makes the record,
///   so one line of 784 values and 28 lines of 28 are alike. Separators are runs of spaces,
///   tabs and commas; blank lines and `#` comment lines are skipped; a first line with no
///   number in it is a header and is skipped.
/// - NPY and IDX files must hold exactly one record: an array of any shape whose values
///   number W (such as (W,), (1, W) or a 28x28 image for W = 784).
/// - Raw files must be exactly one record long.
/// - PGM: the pixels, raw (0...maxval), row-major.
public enum RecordFile {
    /// The values of the single record in the file at `path`, which must number
    /// `expectedWidth`. Errors (`RecordError`) name the path. O(file size): text and PGM files
    /// are read whole, up to `expectedWidth * 64 + 1 MiB` bytes (a larger one is refused, as
    /// it cannot be one record); other formats stream and stop at a second record.
    public static func read(path: String, expectedWidth: Int,
                            options: RecordReaderOptions = RecordReaderOptions()) throws(RecordError) -> [Float] {
        do {
            return try readRecord(path: path, expectedWidth: expectedWidth, options: options)
        } catch {
            if error.message.contains("'\(path)'") { throw error }
            throw RecordError(error.kind, "'\(path)': \(error.message)", recordNumber: error.recordNumber,
                              column: error.column, byteOffset: error.byteOffset)
        }
    }

    private static func readRecord(path: String, expectedWidth: Int,
                                       options: RecordReaderOptions) throws(RecordError) -> [Float] {
        guard (1...RecordReader.maxWidth).contains(expectedWidth) else {
            throw RecordError(.invalidArgument, "the record width must be between 1 and \(RecordReader.maxWidth), not \(expectedWidth)")
        }
        // Text and PGM are parsed from memory, so read at most what one record can take; other
        // formats stream from the file and stop at the second record.
        let limit = expectedWidth * 64 + (1 << 20)
        var (bytes, complete) = try readAll(FileDescriptorSource(path: path), limit: limit)
        if options.detectGzip && bytes.withUnsafeBytes({ GzipSource.recognises($0) }) == true {
            (bytes, complete) = try readAll(GzipSource(wrapping: FileDescriptorSource(path: path)), limit: limit)
        }
        func requireComplete() throws(RecordError) {
            if !complete {
                throw RecordError(.trailingData, "it holds more than \(limit) bytes, more than one record of this width can take")
            }
        }
        var name = path.split(separator: "/").last.map(String.init) ?? path
        if name.hasSuffix(".gz") { name.removeLast(3) }
        let ext = name.split(separator: ".").count > 1 ? String(name.split(separator: ".").last!).lowercased() : ""

        let magic: RecordFormat? = bytes.withUnsafeBytes { head in
            NPYHeader.looksLikeNPY(head) ? .npy : IDXHeader.looksLikeIDX(head) ? .idx : nil
        }
        if magic == nil && (bytes.withUnsafeBytes { PGMImage.looksLikePGM($0) } || ext == "pgm") {
            try requireComplete()
            // withUnsafeBytes is untyped-rethrows; Result carries the typed error through.
            let image = try bytes.withUnsafeBytes { b in
                Result { () throws(RecordError) -> PGMImage in try PGMImage.parse(b) }
            }.get()
            guard image.pixels.count == expectedWidth else {
                throw RecordError(.wrongWidth, "the PGM image is \(image.width)x\(image.height) = \(image.pixels.count) pixels; the model expects \(expectedWidth)")
            }
            return image.pixels
        }
        let format: RecordFormat
        if let magic {
            format = magic
        } else if case .found(let signature) = bytes.withUnsafeBytes({ FileSignature.match($0) }) {
            throw RecordError(.unsupported, "this is \(signature.what). \(signature.advice)", byteOffset: 0)
        } else {
            switch ext {
            case "csv", "tsv", "txt":
                try requireComplete()
                return try readText(bytes, expectedWidth: expectedWidth, options: options)
            case "f32": format = .f32
            case "f64": format = .f64
            case "u8": format = .u8
            case "npy": format = .npy
            case "idx": format = .idx
            default:
                if name.hasSuffix("-ubyte") { format = .idx; break }  // MNIST names: train-images-idx3-ubyte
                throw RecordError(.invalidArgument,
                    "cannot tell its format: no NPY, IDX, PGM or gzip magic, and the extension is not one of .csv, .tsv, .txt, .f32, .f64, .u8, .npy, .idx, .pgm")
            }
        }
        let source: any ByteSource = complete ? MemorySource(bytes) : try FileDescriptorSource(path: path)
        var whole = options
        whole.wholeArrayIsOneRecord = true
        whole.inflatesOnThread = false  // one record: no thread worth starting
        let reader = try RecordReader(source: source, format: format, expectedWidth: expectedWidth, options: whole)
        try reader.prepare()
        if let declared = reader.declaredRecordCount, declared != 1 {
            throw RecordError(.wrongWidth, "it holds \(declared) records; a single record is expected")
        }
        guard let record = try reader.next() else {
            throw RecordError(.truncated, "it is empty")
        }
        if try reader.next() != nil {
            throw RecordError(.trailingData, "it holds more than one record of \(expectedWidth) values", recordNumber: 2)
        }
        return record
    }

    /// All numbers of a text file as one record.
    private static func readText(_ bytes: [UInt8], expectedWidth: Int, options: RecordReaderOptions) throws(RecordError) -> [Float] {
        var values = [Float](repeating: 0, count: expectedWidth)
        var total = 0
        var sawFirstLine = false
        var lineNumber = 0
        try bytes.withUnsafeBufferPointer { (all: UnsafeBufferPointer<UInt8>) throws(RecordError) in
            try values.withUnsafeMutableBufferPointer { (out: inout UnsafeMutableBufferPointer<Float>) throws(RecordError) in
                var lineStart = 0
                if all.starts(with: [0xEF, 0xBB, 0xBF]) { lineStart = 3 }
                while lineStart < all.count {
                    var lineEnd = lineStart
                    while lineEnd < all.count && all[lineEnd] != 0x0A { lineEnd += 1 }
                    lineNumber += 1
                    let line = UnsafeBufferPointer(rebasing: all[lineStart..<lineEnd])
                    let offset = lineStart
                    lineStart = lineEnd + 1
                    if TextLineParser.isBlank(line) { continue }
                    let place = "line \(lineNumber)"
                    if TextLineParser.isComment(line) {
                        try TextLineParser.checkIsText(line, offset: offset, place: place, recordNumber: 1, hint: "")
                        continue
                    }
                    if !sawFirstLine {
                        sawFirstLine = true
                        if options.header == .skip || (options.header == .auto && TextLineParser.isHeader(line, separator: .whitespace)) {
                            try TextLineParser.checkIsText(line, offset: offset, place: place, recordNumber: 1, hint: "")
                            continue
                        }
                    }
                    let room = max(0, expectedWidth - total)
                    switch TextLineParser.parse(line, separator: .whitespace, into: out.baseAddress! + min(total, expectedWidth),
                                                capacity: room, allowNonFinite: options.allowNonFinite) {
                    case .values(let n): total += n
                    case .failure(let failure):
                        throw TextLineParser.error(for: failure, in: line, offset: offset, place: place, recordNumber: 1, hint: "")
                    }
                }
            }
        }
        guard total == expectedWidth else {
            throw RecordError(.wrongWidth, "it holds \(total) value\(total == 1 ? "" : "s"); the model expects \(expectedWidth)",
                              recordNumber: 1)
        }
        return values
    }

    /// The bytes of `source`, up to `limit` + 1, and whether that was all of them.
    private static func readAll(_ source: any ByteSource, limit: Int) throws(RecordError) -> ([UInt8], complete: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try chunk.withUnsafeMutableBytes { b in
                Result { () throws(RecordError) -> Int in try source.read(into: b) }
            }.get()
            if n == 0 { return (bytes, true) }
            bytes += chunk[0..<n]
            if bytes.count > limit { return (bytes, false) }
        }
    }
}
