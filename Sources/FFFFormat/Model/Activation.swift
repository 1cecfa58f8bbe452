/// The hidden-layer activations of spec/FORMAT.md §7.1, exactly as PyTorch defines them.
/// The raw value is the code stored in the file.
public enum Activation: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case identity = 0
    case relu = 1
    /// `x * 0.5 * (1 + erf(x / sqrt(2)))`, PyTorch's `gelu(approximate='none')`.
    case gelu = 2
    /// PyTorch's `gelu(approximate='tanh')`.
    case geluTanh = 3
    case silu = 4
    case sigmoid = 5
    case tanh = 6

    /// The name the spec and the command line use (`relu`, `gelu-tanh`, ...).
    public var name: String {
        switch self {
        case .identity: "identity"
        case .relu: "relu"
        case .gelu: "gelu"
        case .geluTanh: "gelu-tanh"
        case .silu: "silu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        }
    }

    /// Looks an activation up by its spec name.
    public init?(name: String) {
        guard let match = Activation.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    public var description: String { name }
}
