/// The limits of spec/FORMAT.md §15. A reader refuses declarations beyond them before it
/// allocates anything sized by them.
public enum FormatLimits {
    public static let maxSectionCount = 1024
    public static let maxDepth = 24
    public static let maxInputWidth = 1 << 24
    public static let maxOutputWidth = 1 << 24
    public static let maxLeafWidth = 1 << 16
    public static let maxMasterWidth = 1 << 16
    /// Bytes, for one section's decoded length and for any tensor implied by the model header.
    public static let maxSectionBytes: UInt64 = 1 << 34
    public static let maxLabelBytes = 1024
    public static let maxMetadataPairs = 65536
    public static let maxMetadataKeyBytes = 256
    public static let maxMetadataValueBytes = 1 << 24
}
