/// The codec of a section's stored bytes (spec/FORMAT.md §4.1). The raw value is the file's code.
public enum SectionCodec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Stored as is.
    case none = 0
    /// One Zstandard frame.
    case zstd = 1

    /// The spec's name: `none` or `zstd`.
    public var description: String {
        switch self {
        case .none: "none"
        case .zstd: "zstd"
        }
    }
}
