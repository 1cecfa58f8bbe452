/// The structure of a valid FFF file: its version and section table (spec/FORMAT.md §2, §3).
/// `fffrun info` prints it; `FFFReader.readFile` returns it with the model.
public struct FFFFileLayout: Sendable, Equatable {
    public let majorVersion: Int
    public let minorVersion: Int
    /// The file's size in bytes, equal to the header's declared length.
    public let fileLength: Int
    /// The sections in table order (`MODL` first).
    public let sections: [FFFSectionInfo]

    /// The first section of the given type.
    public func section(_ type: String) -> FFFSectionInfo? {
        sections.first(where: { $0.type == type })
    }
}
