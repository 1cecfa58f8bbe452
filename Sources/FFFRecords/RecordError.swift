/// An error reading records: what went wrong, in words, and where.
///
/// `message` is complete on its own (it names the record, column and offset where they are
/// known) and is what `fffrun` prints. The other fields carry the same facts for programs.
public struct RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of problem.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A record holds more or fewer values than the model's input width, or an IDX/NPY
        /// header declares records of another width.
        case wrongWidth
        /// A text token is not a decimal number (nor `nan`/`inf`).
        case notANumber
        /// NaN or infinity (or a value beyond the Float range) while `allowNonFinite` is off.
        case nonFinite
        /// A blank line with records after it (trailing blank lines are accepted).
        case emptyRecord
        /// A text line longer than the reader's cap (`RecordReaderOptions.maxLineBytes`).
        case lineTooLong
        /// A NUL byte in text input: usually binary data read as text.
        case nulByte
        /// Bytes that are not UTF-8 in text input.
        case invalidUTF8
        /// The input ends inside a record, inside a header, or before the records an IDX/NPY
        /// header promises.
        case truncated
        /// Data after the records an IDX/NPY header declares, or after the single record of a
        /// file read by `RecordFile`.
        case trailingData
        /// A malformed or impossible IDX, NPY or PGM header (bad magic, zero or huge dimensions).
        case badHeader
        /// A well-formed input this reader does not handle (Fortran order, a structured dtype).
        case unsupported
        /// gzip data that zlib cannot decode, or a gzip stream cut short.
        case corruptCompression
        /// The operating system failed to open or read the input.
        case io
        /// A bad argument from the program (such as a width below 1), not from the input.
        case invalidArgument
    }

    /// The class of problem.
    public let kind: Kind
    /// The 1-based number of the record concerned, counting only records (not header, comment
    /// or skipped lines); nil when the problem is not in a record (a header, an open failure).
    public let recordNumber: Int?
    /// The 1-based column (text) or value index within the record (binary non-finite values).
    public let column: Int?
    /// The offset of the offending byte, token or record in the decompressed input stream;
    /// for `.corruptCompression`, the offset in the compressed stream.
    public let byteOffset: Int?
    /// What is wrong and where, in words.
    public let message: String

    /// Makes an error; `message` should name the place itself.
    public init(_ kind: Kind, _ message: String, recordNumber: Int? = nil, column: Int? = nil,
                byteOffset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.recordNumber = recordNumber
        self.column = column
        self.byteOffset = byteOffset
    }

    /// The message.
    public var description: String { message }
}
