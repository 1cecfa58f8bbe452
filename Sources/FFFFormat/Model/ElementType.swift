/// How a weight tensor's elements are stored (spec/FORMAT.md §7.2, format 1.1). The raw value is
/// the code stored in `MODL` byte 25 (the weights `LFW1`, `LFW2`, `MSW1`, `MSW2`) and byte 26
/// (the node weights `NODW`). Biases, preprocessing and the mixing logit are always float32.
public enum ElementType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// `f32`, 4 bytes per element (format 1.0's only type).
    case float32 = 0
    /// IEEE 754 binary16, 2 bytes per element.
    case float16 = 1
    /// The upper 16 bits of a binary32, 2 bytes per element.
    case bfloat16 = 2
    /// Symmetric int8 (-127 ... 127) with one float32 scale per row (per output unit):
    /// the tensor's row scales, then one byte per element.
    case int8Row = 3

    /// The name the spec and the command line use: `float32`, `float16`, `bfloat16`, `int8-row`.
    public var name: String {
        switch self {
        case .float32: "float32"
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .int8Row: "int8-row"
        }
    }

    /// Looks a type up by its spec name.
    public init?(name: String) {
        guard let match = ElementType.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var description: String { name }

    /// Whether this is one of the compact types of format 1.1.
    public var isCompact: Bool { self != .float32 }

    /// The decoded length in bytes of a tensor of `count` elements in `rows` rows (§9 ... §11
    /// with 1.1's element sizes: `4 count`, `2 count`, or `4 rows + count` for int8-row), or `nil`
    /// if it overflows.
    func byteSize(count: Int, rows: Int) -> Int? {
        switch self {
        case .float32:
            let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
            return overflow ? nil : bytes
        case .float16, .bfloat16:
            let (bytes, overflow) = count.multipliedReportingOverflow(by: 2)
            return overflow ? nil : bytes
        case .int8Row:
            let (scales, overflow) = rows.multipliedReportingOverflow(by: 4)
            guard !overflow else { return nil }
            let (bytes, overflow2) = scales.addingReportingOverflow(count)
            return overflow2 ? nil : bytes
        }
    }
}

/// A weight tensor of a model, for the per-tensor views of `FFFModel` (`int8Values(of:)`,
/// `elementType(of:)`).
public enum WeightTensor: Sendable, CaseIterable, Hashable {
    /// `NODW`, `[N][I]`; rows are nodes.
    case nodes
    /// `LFW1`, `[L][I][H]`; row `a * H + c` is leaf `a`'s hidden unit `c`.
    case leafHidden
    /// `LFW2`, `[L][H][O]`; row `a * O + c` is leaf `a`'s output `c`.
    case leafOutput
    /// `MSW1`, `[I][M]`; row `c` is the master leaf's hidden unit `c`.
    case masterHidden
    /// `MSW2`, `[M][O]`; row `c` is output `c`.
    case masterOutput

    /// The four-character type of the section that stores the tensor.
    public var sectionType: String {
        switch self {
        case .nodes: "NODW"
        case .leafHidden: "LFW1"
        case .leafOutput: "LFW2"
        case .masterHidden: "MSW1"
        case .masterOutput: "MSW2"
        }
    }
}

/// The float32 scales of a model's int8-row tensors, one per row in row order (see
/// `WeightTensor` for what a row is). Each array is empty unless its tensor is int8-row: the
/// node scales when `nodeType` is `.int8Row`, the others when `weightType` is.
public struct RowScales: Sendable, Equatable {
    /// `NODW`: `N` scales, one per node.
    public var nodes: [Float]
    /// `LFW1`: `L * H` scales.
    public var leafHidden: [Float]
    /// `LFW2`: `L * O` scales.
    public var leafOutput: [Float]
    /// `MSW1`: `M` scales.
    public var masterHidden: [Float]
    /// `MSW2`: `O` scales.
    public var masterOutput: [Float]

    public init(nodes: [Float] = [], leafHidden: [Float] = [], leafOutput: [Float] = [],
                masterHidden: [Float] = [], masterOutput: [Float] = []) {
        self.nodes = nodes
        self.leafHidden = leafHidden
        self.leafOutput = leafOutput
        self.masterHidden = masterHidden
        self.masterOutput = masterOutput
    }

    /// The scales of one tensor.
    public subscript(tensor: WeightTensor) -> [Float] {
        get {
            switch tensor {
            case .nodes: nodes
            case .leafHidden: leafHidden
            case .leafOutput: leafOutput
            case .masterHidden: masterHidden
            case .masterOutput: masterOutput
            }
        }
        set {
            switch tensor {
            case .nodes: nodes = newValue
            case .leafHidden: leafHidden = newValue
            case .leafOutput: leafOutput = newValue
            case .masterHidden: masterHidden = newValue
            case .masterOutput: masterOutput = newValue
            }
        }
    }
}
