/// The section types spec/FORMAT.md §6 defines, in that table's order (the writer's order and
/// the order of the presence checks of §16 step 13).
enum KnownSection: String, CaseIterable {
    case modl = "MODL"
    case prep = "PREP"
    case nodw = "NODW"
    case nodb = "NODB"
    case lfw1 = "LFW1"
    case lfb1 = "LFB1"
    case lfw2 = "LFW2"
    case lfb2 = "LFB2"
    case msw1 = "MSW1"
    case msb1 = "MSB1"
    case msw2 = "MSW2"
    case msb2 = "MSB2"
    case labl = "LABL"
    case meta = "META"

    /// The critical bit the section must carry.
    var isCritical: Bool { self != .labl && self != .meta }

    /// True for the tensor sections of §9 ... §11 (weights in `MODL`'s element types, biases float32).
    var isTensor: Bool {
        switch self {
        case .modl, .prep, .labl, .meta: false
        default: true
        }
    }

    /// The type as its four file bytes.
    var bytes: [UInt8] { Array(rawValue.utf8) }
}
