/// A trained Fast Feedforward network, as spec/FORMAT.md describes it: `2^depth - 1` hyperplane
/// nodes in heap order route an input to one of `2^depth` leaves, each a one-hidden-layer MLP,
/// optionally mixed with a master leaf.
///
/// A model is immutable and `Sendable`: load it once and share it between threads. Every
/// initializer validates shapes, ranges and finiteness, so a model that exists is a valid one.
/// Tensors keep the file's canonical layout; the inference runtime repacks them as it needs.
/// (The three weight tensors are settable inside this package only, so that the runtime can let
/// go of a model's weights one tensor at a time while it packs its own copy.)
public struct FFFModel: Sendable, Equatable {
    /// `I`, the number of features of a record.
    public let inputWidth: Int
    /// `O`, the number of outputs (classes).
    public let outputWidth: Int
    /// `d`: the tree has `2^d` leaves and `2^d - 1` nodes. 0 means a single leaf.
    public let depth: Int
    /// `H`, the hidden width of every leaf.
    public let leafWidth: Int
    /// The hidden activation of the leaves and of the master leaf.
    public let activation: Activation
    /// Applied to raw records before inference; `nil` means none (`x = raw`).
    public let preprocessing: Preprocessing?
    /// `[N][I]`, node `n`'s weight for input `i` at `n * I + i`.
    public package(set) var nodeWeights: [Float]
    /// `[N]`.
    public let nodeBiases: [Float]
    /// `[L][I][H]`: leaf `a`, input `b`, hidden `c` at `(a * I + b) * H + c`.
    public package(set) var leafHiddenWeights: [Float]
    /// `[L][H]`.
    public let leafHiddenBiases: [Float]
    /// `[L][H][O]`: leaf `a`, hidden `b`, output `c` at `(a * H + b) * O + c`.
    public package(set) var leafOutputWeights: [Float]
    /// `[L][O]`.
    public let leafOutputBiases: [Float]
    /// The master leaf, if the model has one.
    public let masterLeaf: MasterLeaf?
    /// One label per output, if the model names its classes.
    public let labels: [String]?
    /// Free key/value metadata (producer, dataset, training statistics), in file order.
    public let metadata: [MetadataEntry]

    /// `2^depth`.
    public var leafCount: Int { 1 << depth }
    /// `2^depth - 1`.
    public var nodeCount: Int { (1 << depth) - 1 }

    /// The value of the first metadata entry with this key.
    public func metadataValue(forKey key: String) -> String? {
        metadata.first(where: { $0.key == key })?.value
    }

    /// Builds a model, checking every shape against the widths, every range against
    /// `FormatLimits`, and that every parameter is finite.
    ///
    /// - Throws: `FFFError` with the spec's code (`invalid-value`, `limit-exceeded`,
    ///   `shape-mismatch`, `non-finite-parameter`).
    /// - Complexity: O(number of parameters), for the finiteness check.
    public init(
        inputWidth: Int, outputWidth: Int, depth: Int, leafWidth: Int, activation: Activation,
        preprocessing: Preprocessing? = nil,
        nodeWeights: [Float], nodeBiases: [Float],
        leafHiddenWeights: [Float], leafHiddenBiases: [Float],
        leafOutputWeights: [Float], leafOutputBiases: [Float],
        masterLeaf: MasterLeaf? = nil, labels: [String]? = nil, metadata: [MetadataEntry] = []
    ) throws(FFFError) {
        try Self.checkRange("input width", inputWidth, 1, FormatLimits.maxInputWidth)
        try Self.checkRange("output width", outputWidth, 1, FormatLimits.maxOutputWidth)
        try Self.checkRange("depth", depth, 0, FormatLimits.maxDepth)
        try Self.checkRange("leaf width", leafWidth, 1, FormatLimits.maxLeafWidth)
        let leaves = 1 << depth
        let nodes = leaves - 1
        try Self.checkTensor("node weights", nodeWeights, [nodes, inputWidth])
        try Self.checkTensor("node biases", nodeBiases, [nodes])
        try Self.checkTensor("leaf hidden weights", leafHiddenWeights, [leaves, inputWidth, leafWidth])
        try Self.checkTensor("leaf hidden biases", leafHiddenBiases, [leaves, leafWidth])
        try Self.checkTensor("leaf output weights", leafOutputWeights, [leaves, leafWidth, outputWidth])
        try Self.checkTensor("leaf output biases", leafOutputBiases, [leaves, outputWidth])
        if let master = masterLeaf {
            try Self.checkRange("master width", master.width, 1, FormatLimits.maxMasterWidth)
            try Self.checkTensor("master hidden weights", master.hiddenWeights, [inputWidth, master.width])
            try Self.checkTensor("master hidden biases", master.hiddenBiases, [master.width])
            try Self.checkTensor("master output weights", master.outputWeights, [master.width, outputWidth])
            try Self.checkTensor("master output biases", master.outputBiases, [outputWidth])
            guard master.mixingLogit.isFinite else {
                throw FFFError(.nonFiniteParameter, "mixing logit k is \(master.mixingLogit); it must be finite")
            }
        }
        if let pre = preprocessing {
            guard pre.scale.count == pre.offset.count, pre.scale.count == 1 || pre.scale.count == inputWidth else {
                throw FFFError(.invalidValue,
                    "preprocessing has \(pre.scale.count) scales and \(pre.offset.count) offsets; expected 1 or \(inputWidth) of each")
            }
            try Self.checkFinite("preprocessing scale", pre.scale)
            try Self.checkFinite("preprocessing offset", pre.offset)
        }
        if let labels {
            guard labels.count == outputWidth else {
                throw FFFError(.shapeMismatch, "\(labels.count) labels for \(outputWidth) outputs")
            }
            // Distinct as bytes, as the spec says: Swift's String equality would merge
            // canonically equivalent labels ("é" precomposed and decomposed) that a file may hold.
            var seen = Set<[UInt8]>()
            for (index, label) in labels.enumerated() {
                let bytes = label.utf8.count
                guard bytes >= 1, bytes <= FormatLimits.maxLabelBytes else {
                    throw FFFError(.invalidValue, "label \(index) is \(bytes) bytes; labels are 1 ... \(FormatLimits.maxLabelBytes) bytes")
                }
                guard seen.insert(Array(label.utf8)).inserted else {
                    throw FFFError(.invalidValue, "label \(index) '\(label)' is a duplicate")
                }
            }
        }
        guard metadata.count <= FormatLimits.maxMetadataPairs else {
            throw FFFError(.invalidValue, "\(metadata.count) metadata pairs; at most \(FormatLimits.maxMetadataPairs)")
        }
        var keys = Set<[UInt8]>()
        for entry in metadata {
            let keyBytes = Array(entry.key.utf8)
            guard !keyBytes.isEmpty, keyBytes.count <= FormatLimits.maxMetadataKeyBytes,
                  keyBytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw FFFError(.invalidValue, "metadata key '\(entry.key)' must be 1 ... 256 bytes of printable ASCII without spaces")
            }
            guard entry.value.utf8.count <= FormatLimits.maxMetadataValueBytes else {
                throw FFFError(.invalidValue, "metadata value of '\(entry.key)' exceeds \(FormatLimits.maxMetadataValueBytes) bytes")
            }
            guard keys.insert(keyBytes).inserted else {
                throw FFFError(.invalidValue, "metadata key '\(entry.key)' appears twice")
            }
        }
        self.inputWidth = inputWidth
        self.outputWidth = outputWidth
        self.depth = depth
        self.leafWidth = leafWidth
        self.activation = activation
        self.preprocessing = preprocessing
        self.nodeWeights = nodeWeights
        self.nodeBiases = nodeBiases
        self.leafHiddenWeights = leafHiddenWeights
        self.leafHiddenBiases = leafHiddenBiases
        self.leafOutputWeights = leafOutputWeights
        self.leafOutputBiases = leafOutputBiases
        self.masterLeaf = masterLeaf
        self.labels = labels
        self.metadata = metadata
    }

    private static func checkRange(_ what: String, _ value: Int, _ low: Int, _ high: Int) throws(FFFError) {
        if value < low {
            throw FFFError(.invalidValue, "\(what) is \(value); it must be at least \(low)")
        }
        if value > high {
            throw FFFError(.limitExceeded, "\(what) is \(value); the limit is \(high)")
        }
    }

    private static func checkTensor(_ what: String, _ values: [Float], _ shape: [Int]) throws(FFFError) {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, UInt64(product) * 4 <= FormatLimits.maxSectionBytes else {
                throw FFFError(.limitExceeded, "\(what) of shape \(shape) exceeds \(FormatLimits.maxSectionBytes) bytes")
            }
            count = product
        }
        guard values.count == count else {
            throw FFFError(.shapeMismatch, "\(what) has \(values.count) values; shape \(shape) needs \(count)")
        }
        try checkFinite(what, values)
    }

    private static func checkFinite(_ what: String, _ values: [Float]) throws(FFFError) {
        if let index = FloatScan.firstNonFinite(values) {
            throw FFFError(.nonFiniteParameter, "\(what)[\(index)] is \(values[index]); parameters must be finite")
        }
    }
}
