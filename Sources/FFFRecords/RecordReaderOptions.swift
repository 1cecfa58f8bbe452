/// Settings of a `RecordReader`. The defaults suit `fffrun`.
public struct RecordReaderOptions: Sendable, Equatable {
    /// What to do with the first line of text input (csv, tsv, text, and auto when it finds
    /// text). The "first line" is the first that is neither blank nor a `#` comment.
    public enum HeaderPolicy: String, Sendable, Hashable, CaseIterable {
        /// Skip the first line when none of its tokens is a number (so `x0,x1,x2` is a header
        /// while `1,x,3` is record 1 with a bad token), or when it numbers the record's columns
        /// in plain digits, `0,1,...,W-1` or `1,2,...,W` (pandas' default column names; also
        /// after an empty first field, as `to_csv` writes them with its row index). That skip
        /// is reported in `RecordReader.notices`.
        case auto
        /// Always skip the first line.
        case skip
        /// Never skip: the first line is record 1.
        case none
    }

    /// Accept NaN and ±infinity (text `nan`, `inf`, `infinity` in any case, with a sign; binary
    /// non-finite values; values beyond the Float range, which become ±infinity). Off: each is
    /// a `.nonFinite` error naming the record and column.
    public var allowNonFinite: Bool
    /// The header rule for text input.
    public var header: HeaderPolicy
    /// The longest text line accepted, in bytes, without its line ending. nil means
    /// min(64 MiB, width * 64 + 4096). The read buffer never grows past this (plus one record
    /// of binary input), so a line without end cannot exhaust memory.
    public var maxLineBytes: Int?
    /// The initial size of the read buffer in bytes (at least 4096 is used).
    public var bufferSize: Int
    /// Decompress input that starts like a gzip member (`1f 8b 08`, then a flags byte with
    /// bits 5-7 clear). Turn off only for raw binary records that may begin with those bytes.
    public var detectGzip: Bool
    /// Inflate gzip input from a regular file on a thread of its own (``InflateThread``), ahead
    /// of the records being read: the same bytes and errors, in parallel with the rest.
    public var inflatesOnThread: Bool
    /// An IDX or NPY array whose values number exactly the record width is one record,
    /// whatever its shape (a 28x28 image for 784 inputs): how `RecordFile` reads a file that
    /// holds one record. Off for streams, where the first axis counts records.
    var wholeArrayIsOneRecord = false

    /// Options with the given values; every parameter has the `fffrun` default.
    public init(allowNonFinite: Bool = false, header: HeaderPolicy = .auto,
                maxLineBytes: Int? = nil, bufferSize: Int = 1 << 20, detectGzip: Bool = true,
                inflatesOnThread: Bool = false) {
        self.inflatesOnThread = inflatesOnThread
        self.allowNonFinite = allowNonFinite
        self.header = header
        self.maxLineBytes = maxLineBytes
        self.bufferSize = bufferSize
        self.detectGzip = detectGzip
    }
}
