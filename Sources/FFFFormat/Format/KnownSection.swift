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
    /// The model card (1.2): typed key/value pairs.
    case card = "CARD"
    /// Ed25519 signatures over the identity, the card and the labels (1.2).
    case sign = "SIGN"

    /// The critical bit the section must carry.
    var isCritical: Bool { !isAncillary }

    /// `LABL`, `META`, `CARD` and `SIGN`: not part of the function the model computes.
    var isAncillary: Bool {
        switch self {
        case .labl, .meta, .card, .sign: true
        default: false
        }
    }

    /// True for the tensor sections of §9 ... §11 (weights in `MODL`'s element types, biases float32).
    var isTensor: Bool {
        switch self {
        case .modl, .prep, .labl, .meta, .card, .sign: false
        default: true
        }
    }

    /// The type as its four file bytes.
    var bytes: [UInt8] { Array(rawValue.utf8) }
}
