/// The fields of the 64-byte `MODL` payload (spec/FORMAT.md §7), once validated, and the tensor
/// shapes they imply.
struct ModelHeader {
    static let payloadLength = 64
    static let layerKindFFF: UInt32 = 1
    static let elementTypeFloat32: UInt8 = 0

    let inputWidth: Int
    let outputWidth: Int
    let depth: Int
    let leafWidth: Int
    let masterWidth: Int
    let activation: Activation
    let mixingLogit: Float

    var leafCount: Int { 1 << depth }
    var nodeCount: Int { (1 << depth) - 1 }

    /// Whether the model allows the section at all (§6's presence column).
    func allows(_ section: KnownSection) -> Bool {
        switch section {
        case .nodw, .nodb: depth >= 1
        case .msw1, .msb1, .msw2, .msb2: masterWidth >= 1
        default: true
        }
    }

    /// Whether the section must be present.
    func requires(_ section: KnownSection) -> Bool {
        switch section {
        case .prep, .labl, .meta: false
        default: allows(section)
        }
    }

    /// The tensor's dimensions, for the tensor sections.
    func shape(of section: KnownSection) -> [Int]? {
        let (i, o, h, m, l, n) = (inputWidth, outputWidth, leafWidth, masterWidth, leafCount, nodeCount)
        switch section {
        case .nodw: return [n, i]
        case .nodb: return [n]
        case .lfw1: return [l, i, h]
        case .lfb1: return [l, h]
        case .lfw2: return [l, h, o]
        case .lfb2: return [l, o]
        case .msw1: return [i, m]
        case .msb1: return [m]
        case .msw2: return [m, o]
        case .msb2: return [o]
        case .modl, .prep, .labl, .meta: return nil
        }
    }

    /// The tensor's size in bytes, or `nil` if it exceeds `FormatLimits.maxSectionBytes`
    /// (overflow included: the product is computed with overflow checks).
    func byteSize(of section: KnownSection) -> Int? {
        guard let shape = shape(of: section) else { return nil }
        var bytes = MemoryLayout<Float>.size
        for dimension in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
            guard !overflow, UInt64(product) <= FormatLimits.maxSectionBytes else { return nil }
            bytes = product
        }
        return bytes
    }
}
