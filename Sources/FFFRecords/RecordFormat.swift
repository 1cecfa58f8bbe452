/// How a record stream is encoded. The raw values are the names `fffrun --format` accepts.
public enum RecordFormat: String, Sendable, Hashable, CaseIterable {
    /// IDX or NPY when the stream starts with their magic, otherwise text whose first record
    /// line picks the separator: a tab means `tsv`, else a comma means `csv`, else `text`.
    case auto
    /// Comma-separated values, one record per line; blanks around fields are ignored; an
    /// empty field is an error.
    case csv
    /// Tab-separated values, one record per line; spaces around fields are ignored.
    case tsv
    /// Numbers separated by any run of spaces, tabs and commas, one record per line.
    case text
    /// Raw little-endian float32 values, `width` per record, no header.
    case f32
    /// Raw little-endian float64 values, `width` per record, no header.
    case f64
    /// Raw bytes, one value 0...255 per feature, `width` per record, no header.
    case u8
    /// MNIST IDX: big-endian header (magic `00 00 type ndims`, ndims u32 dimensions); the first
    /// dimension counts the records, the product of the others is the width.
    case idx
    /// NumPy `.npy` v1/v2/v3, C order; shape (n, ...) holds n records.
    case npy

    /// Whether records are lines of text.
    public var isText: Bool { self == .csv || self == .tsv || self == .text }
}
