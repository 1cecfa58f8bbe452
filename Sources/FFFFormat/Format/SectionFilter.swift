/// The filter applied to a section's payload before its codec (spec/FORMAT.md §4.2).
public enum SectionFilter: Sendable, Hashable, CustomStringConvertible {
    case none
    /// Byte shuffle of elements of `unit` bytes (2, 4 or 8).
    case shuffle(unit: Int)

    /// `none` or `shuffle/4`.
    public var description: String {
        switch self {
        case .none: "none"
        case .shuffle(let unit): "shuffle/\(unit)"
        }
    }
}
