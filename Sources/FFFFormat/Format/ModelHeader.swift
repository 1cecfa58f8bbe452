/// The fields of the 64-byte `MODL` payload (spec/FORMAT.md §7), once validated, and the tensor
/// shapes they imply.
struct ModelHeader {
    static let payloadLength = 64
    static let layerKindFFF: UInt32 = 1

    let inputWidth: Int
    let outputWidth: Int
    let depth: Int
    let leafWidth: Int
    let masterWidth: Int
    let activation: Activation
    let mixingLogit: Float
    /// `MODL` byte 25: the type of `LFW1`, `LFW2`, `MSW1`, `MSW2`.
    let weightType: ElementType
    /// `MODL` byte 26: the type of `NODW`.
    let nodeType: ElementType

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
        case .prep, .labl, .meta, .card, .sign: false
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
        case .modl, .prep, .labl, .meta, .card, .sign: return nil
        }
    }

    /// The weight tensor a section stores, for `NODW`, `LFW1`, `LFW2`, `MSW1`, `MSW2`.
    static func weightTensor(_ section: KnownSection) -> WeightTensor? {
        switch section {
        case .nodw: .nodes
        case .lfw1: .leafHidden
        case .lfw2: .leafOutput
        case .msw1: .masterHidden
        case .msw2: .masterOutput
        default: nil
        }
    }

    /// How the section's elements are stored: `nodeType` for `NODW`, `weightType` for the other
    /// weights, float32 for biases (and for the sections that are not tensors).
    func elementType(of section: KnownSection) -> ElementType {
        switch Self.weightTensor(section) {
        case .nodes: nodeType
        case .some: weightType
        case nil: .float32
        }
    }

    /// The rows of a weight section (int8-row stores one scale per row).
    func rowLayout(of section: KnownSection) -> RowLayout? {
        guard let tensor = Self.weightTensor(section) else { return nil }
        return RowLayout.of(tensor, input: inputWidth, output: outputWidth, depth: depth, leafWidth: leafWidth, masterWidth: masterWidth)
    }

    /// The tensor's size in bytes in its element type (`4 count`, `2 count`, or
    /// `4 rows + count` for int8-row), or `nil` if it exceeds `FormatLimits.maxSectionBytes`
    /// (overflow included: the products are computed with overflow checks).
    func byteSize(of section: KnownSection) -> Int? {
        guard let shape = shape(of: section) else { return nil }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, UInt64(product) <= FormatLimits.maxSectionBytes else { return nil }
            count = product
        }
        let rows = rowLayout(of: section)?.rows ?? 0  // <= count: no overflow
        guard let bytes = elementType(of: section).byteSize(count: count, rows: rows),
              UInt64(bytes) <= FormatLimits.maxSectionBytes else { return nil }
        return bytes
    }
}
