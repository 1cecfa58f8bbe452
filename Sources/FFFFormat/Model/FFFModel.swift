/// A trained Fast Feedforward network, as spec/FORMAT.md describes it: `2^depth - 1` hyperplane
/// nodes in heap order route an input to one of `2^depth` leaves, each a one-hidden-layer MLP,
/// optionally mixed with a master leaf.
///
/// A model is immutable and `Sendable`: load it once and share it between threads. Every
/// initializer validates shapes, ranges and finiteness, so a model that exists is a valid one.
/// Tensors keep the file's canonical layout; the inference runtime repacks them as it needs.
/// (The three weight tensors are settable inside this package only, so that the runtime can let
/// go of a model's weights one tensor at a time while it packs its own copy.)
///
/// Weights may be stored compactly (format 1.1): `weightType` for the leaf and master-leaf
/// weights, `nodeType` for the node weights. The `[Float]` weight arrays then hold the values the
/// file decodes to, rounded to float32: exact for float16 and bfloat16, `Float(scale * q)` for
/// int8-row, whose row scales are in `rowScales` and whose `q` `int8Values(of:)` returns. (The
/// exact value of an int8-row weight is `scale * q`; its float32 rounding is ±infinity when the
/// product exceeds float32's range, which a file may hold with a scale above about 2.7e36 and
/// the writer rules produce only for a row whose largest magnitude is within a few ulps of
/// `Float.greatestFiniteMagnitude`. Kernels use the scales and `q`.)
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
    /// The model card (`CARD`, format 1.2), if the model has one. Valid by construction
    /// (``ModelCard/init(_:)`` checks it); written after `META` with codec none.
    public var card: ModelCard? = nil
    /// The signatures (`SIGN`, format 1.2), as a file holds them; checked by `FFFProvenance`,
    /// not here. A writer writes them as they are, so rewriting a signed model (another codec,
    /// level or filter) keeps its signatures valid as long as the identity, the card and the
    /// labels stay.
    public var signatures: SignatureSection? = nil
    /// How `LFW1`, `LFW2`, `MSW1` and `MSW2` are stored (`MODL` byte 25).
    public let weightType: ElementType
    /// How `NODW` is stored (`MODL` byte 26): `.float32` when `weightType` is, or when the model
    /// has no nodes (depth 0).
    public let nodeType: ElementType
    /// The row scales of the int8-row tensors (empty arrays for the others).
    public let rowScales: RowScales
    /// `q` of each int8-row tensor, in the tensor's element order (absent for other tensors).
    /// Settable inside the package so that the runtime can release it once packed.
    package var quantizedValues: [WeightTensor: [Int8]]

    /// `2^depth`.
    public var leafCount: Int { 1 << depth }
    /// `2^depth - 1`.
    public var nodeCount: Int { (1 << depth) - 1 }

    /// The element type of one weight tensor: `nodeType` for `.nodes`, `weightType` otherwise.
    public func elementType(of tensor: WeightTensor) -> ElementType {
        tensor == .nodes ? nodeType : weightType
    }

    /// The element type of a tensor section by its four-character type (`NODW`, `LFW1`, ...):
    /// biases are always `.float32`. `nil` for sections that are not tensors (`MODL`, `PREP`,
    /// `LABL`, `META`, `CARD`, `SIGN`, unknown types).
    public func elementType(ofSection type: String) -> ElementType? {
        if let tensor = WeightTensor.allCases.first(where: { $0.sectionType == type }) {
            return elementType(of: tensor)
        }
        guard let known = KnownSection(rawValue: type), known.isTensor else { return nil }
        return .float32
    }

    /// The decoded values of a weight tensor as float32 (the model's `[Float]` array).
    public func weights(of tensor: WeightTensor) -> [Float] {
        switch tensor {
        case .nodes: nodeWeights
        case .leafHidden: leafHiddenWeights
        case .leafOutput: leafOutputWeights
        case .masterHidden: masterLeaf?.hiddenWeights ?? []
        case .masterOutput: masterLeaf?.outputWeights ?? []
        }
    }

    /// The `q` values (-127 ... 127) of an int8-row tensor in its element order, so that element
    /// `i` of row `r` is exactly `rowScales[tensor][r] * q[i]`; equal to
    /// `Int8((w / scale).rounded(.toNearestOrEven))` of the float32 weights. `nil` when the
    /// tensor is not int8-row or the model does not have it.
    public func int8Values(of tensor: WeightTensor) -> [Int8]? {
        guard elementType(of: tensor) == .int8Row else { return nil }
        return quantizedValues[tensor]
    }

    /// The value of the first metadata entry with this key.
    public func metadataValue(forKey key: String) -> String? {
        metadata.first(where: { $0.key == key })?.value
    }

    /// Builds a model, checking every shape against the widths, every range against
    /// `FormatLimits`, and that every parameter is finite; then stores the weights in
    /// `weightType` (leaf and master-leaf weights) and `nodeType` (node weights) by the writer
    /// rules of format 1.1, so that the model holds the values a file of it decodes to.
    ///
    /// - Parameters:
    ///   - inputWidth: `I`, the number of features of a record.
    ///   - outputWidth: `O`, the number of outputs.
    ///   - depth: `d`: `2^d` leaves and `2^d - 1` nodes.
    ///   - leafWidth: `H`, the hidden width of every leaf.
    ///   - activation: the hidden activation.
    ///   - preprocessing: applied to raw records; `nil` for none.
    ///   - nodeWeights: `[N][I]`.
    ///   - nodeBiases: `[N]`.
    ///   - leafHiddenWeights: `[L][I][H]`.
    ///   - leafHiddenBiases: `[L][H]`.
    ///   - leafOutputWeights: `[L][H][O]`.
    ///   - leafOutputBiases: `[L][O]`.
    ///   - masterLeaf: the master leaf, if any.
    ///   - labels: one label per output, if any.
    ///   - metadata: free key/value pairs, in order.
    ///   - weightType: how to store `LFW1`, `LFW2`, `MSW1`, `MSW2`; `.float32` keeps the values.
    ///   - nodeType: how to store `NODW`. `nil`: the same as `weightType` for float16 and
    ///     bfloat16, `.float32` for int8-row and float32, and always `.float32` at depth 0.
    ///     It must be `.float32` when `weightType` is, and at depth 0 (`invalid-value`).
    /// - Throws: `FFFError` with the spec's code (`invalid-value`, `limit-exceeded`,
    ///   `shape-mismatch`, `non-finite-parameter`); `invalid-value` when a weight cannot be
    ///   stored in its type (a float16 overflow, |x| >= 65520, say).
    /// - Complexity: O(number of parameters), for the finiteness check and the encoding.
    public init(
        inputWidth: Int, outputWidth: Int, depth: Int, leafWidth: Int, activation: Activation,
        preprocessing: Preprocessing? = nil,
        nodeWeights: [Float], nodeBiases: [Float],
        leafHiddenWeights: [Float], leafHiddenBiases: [Float],
        leafOutputWeights: [Float], leafOutputBiases: [Float],
        masterLeaf: MasterLeaf? = nil, labels: [String]? = nil, metadata: [MetadataEntry] = [],
        weightType: ElementType = .float32, nodeType: ElementType? = nil
    ) throws(FFFError) {
        try self.init(
            inputWidth: inputWidth, outputWidth: outputWidth, depth: depth, leafWidth: leafWidth,
            activation: activation, preprocessing: preprocessing,
            nodeWeights: nodeWeights, nodeBiases: nodeBiases,
            leafHiddenWeights: leafHiddenWeights, leafHiddenBiases: leafHiddenBiases,
            leafOutputWeights: leafOutputWeights, leafOutputBiases: leafOutputBiases,
            masterLeaf: masterLeaf, labels: labels, metadata: metadata,
            weightType: weightType, nodeType: nodeType ?? Self.defaultNodeType(weightType, depth: depth),
            storage: .encode)
    }

    /// A model of decoded weights as a file holds them, without re-encoding: the reader's path.
    /// `rowScales` and `quantized` hold the int8-row tensors' scales and `q` (the weight arrays
    /// their products); float16 and bfloat16 weights are the decoded values.
    init(
        inputWidth: Int, outputWidth: Int, depth: Int, leafWidth: Int, activation: Activation,
        preprocessing: Preprocessing?,
        nodeWeights: [Float], nodeBiases: [Float],
        leafHiddenWeights: [Float], leafHiddenBiases: [Float],
        leafOutputWeights: [Float], leafOutputBiases: [Float],
        masterLeaf: MasterLeaf?, labels: [String]?, metadata: [MetadataEntry],
        weightType: ElementType, nodeType: ElementType,
        decodedScales rowScales: RowScales, quantized: [WeightTensor: [Int8]]
    ) throws(FFFError) {
        try self.init(
            inputWidth: inputWidth, outputWidth: outputWidth, depth: depth, leafWidth: leafWidth,
            activation: activation, preprocessing: preprocessing,
            nodeWeights: nodeWeights, nodeBiases: nodeBiases,
            leafHiddenWeights: leafHiddenWeights, leafHiddenBiases: leafHiddenBiases,
            leafOutputWeights: leafOutputWeights, leafOutputBiases: leafOutputBiases,
            masterLeaf: masterLeaf, labels: labels, metadata: metadata,
            weightType: weightType, nodeType: nodeType,
            storage: .decoded(rowScales, quantized))
    }

    /// The node type a writer picks when none is given: compact float nodes with compact float
    /// weights, float32 nodes with int8-row weights (nodes are a small part of the bytes and
    /// decide the route), and float32 when there are no nodes.
    static func defaultNodeType(_ weightType: ElementType, depth: Int) -> ElementType {
        guard depth >= 1 else { return .float32 }
        switch weightType {
        case .float16, .bfloat16: return weightType
        case .float32, .int8Row: return .float32
        }
    }

    /// This model with its weights stored in other types: every weight tensor whose type changes
    /// is encoded from its current float32 values by the writer rules (tensors whose type stays
    /// are kept as they are, so converting to the model's own types returns it unchanged).
    /// The card is kept; the signatures are dropped when a type changes, since the identity
    /// they sign covers the stored weights.
    ///
    /// `nodeType` `nil` picks the default of `init`'s.
    /// - Throws: `FFFError` (`invalid-value`) as `init` does: the types are not allowed together,
    ///   or a value cannot be stored in its new type.
    public func converted(weightType: ElementType, nodeType: ElementType? = nil) throws(FFFError) -> FFFModel {
        let nodeType = nodeType ?? Self.defaultNodeType(weightType, depth: depth)
        try Self.checkTypes(weightType: weightType, nodeType: nodeType, depth: depth)
        if weightType == self.weightType, nodeType == self.nodeType { return self }
        var scales = RowScales()
        var quantized: [WeightTensor: [Int8]] = [:]
        var converted: [WeightTensor: [Float]] = [:]
        for tensor in WeightTensor.allCases where tensor != .masterHidden && tensor != .masterOutput || masterLeaf != nil {
            let old = elementType(of: tensor)
            let new = tensor == .nodes ? nodeType : weightType
            if old == new {
                scales[tensor] = rowScales[tensor]
                quantized[tensor] = quantizedValues[tensor]
                converted[tensor] = weights(of: tensor)
                continue
            }
            let layout = RowLayout.of(tensor, input: inputWidth, output: outputWidth, depth: depth,
                                      leafWidth: leafWidth, masterWidth: masterLeaf?.width ?? 0)
            let encoded = try WeightEncoding.encode(weights(of: tensor), as: new, layout: layout, what: Self.name(of: tensor))
            converted[tensor] = encoded.values
            scales[tensor] = encoded.scales
            if new == .int8Row { quantized[tensor] = encoded.q }
        }
        var master: MasterLeaf?
        if let m = masterLeaf {
            master = MasterLeaf(width: m.width, hiddenWeights: converted[.masterHidden] ?? [], hiddenBiases: m.hiddenBiases,
                                outputWeights: converted[.masterOutput] ?? [], outputBiases: m.outputBiases,
                                mixingLogit: m.mixingLogit)
        }
        var result = try FFFModel(
            inputWidth: inputWidth, outputWidth: outputWidth, depth: depth, leafWidth: leafWidth,
            activation: activation, preprocessing: preprocessing,
            nodeWeights: converted[.nodes] ?? [], nodeBiases: nodeBiases,
            leafHiddenWeights: converted[.leafHidden] ?? [], leafHiddenBiases: leafHiddenBiases,
            leafOutputWeights: converted[.leafOutput] ?? [], leafOutputBiases: leafOutputBiases,
            masterLeaf: master, labels: labels, metadata: metadata,
            weightType: weightType, nodeType: nodeType, decodedScales: scales, quantized: quantized)
        result.card = card  // the signatures are not kept: they name the old weights
        return result
    }

    /// Where the weights of `init(..., storage:)` come from.
    private enum Storage {
        /// Float values to encode by the writer rules.
        case encode
        /// Decoded values with the int8-row tensors' scales and `q`.
        case decoded(RowScales, [WeightTensor: [Int8]])
    }

    /// The types' rules of `MODL` byte 26 (§7): compact nodes need compact weights, and nodes.
    static func checkTypes(weightType: ElementType, nodeType: ElementType, depth: Int) throws(FFFError) {
        if nodeType != .float32, weightType == .float32 {
            throw FFFError(.invalidValue, "node type is \(nodeType.name) with weight type float32; compact nodes need compact weights (node type must be float32)")
        }
        if nodeType != .float32, depth == 0 {
            throw FFFError(.invalidValue, "node type is \(nodeType.name) at depth 0; a model without nodes has node type float32")
        }
    }

    private static func name(of tensor: WeightTensor) -> String {
        switch tensor {
        case .nodes: "node weights"
        case .leafHidden: "leaf hidden weights"
        case .leafOutput: "leaf output weights"
        case .masterHidden: "master hidden weights"
        case .masterOutput: "master output weights"
        }
    }

    private init(
        inputWidth: Int, outputWidth: Int, depth: Int, leafWidth: Int, activation: Activation,
        preprocessing: Preprocessing?,
        nodeWeights: [Float], nodeBiases: [Float],
        leafHiddenWeights: [Float], leafHiddenBiases: [Float],
        leafOutputWeights: [Float], leafOutputBiases: [Float],
        masterLeaf: MasterLeaf?, labels: [String]?, metadata: [MetadataEntry],
        weightType: ElementType, nodeType: ElementType, storage: Storage
    ) throws(FFFError) {
        try Self.checkRange("input width", inputWidth, 1, FormatLimits.maxInputWidth)
        try Self.checkRange("output width", outputWidth, 1, FormatLimits.maxOutputWidth)
        try Self.checkRange("depth", depth, 0, FormatLimits.maxDepth)
        try Self.checkRange("leaf width", leafWidth, 1, FormatLimits.maxLeafWidth)
        try Self.checkTypes(weightType: weightType, nodeType: nodeType, depth: depth)
        let leaves = 1 << depth
        let nodes = leaves - 1
        let masterWidth = masterLeaf?.width ?? 0
        func layout(_ tensor: WeightTensor) -> RowLayout {
            RowLayout.of(tensor, input: inputWidth, output: outputWidth, depth: depth, leafWidth: leafWidth, masterWidth: masterWidth)
        }
        // Decoded int8-row values may be beyond float32 (a scale above about 2.7e36): the exact
        // values are the scales times q, which the reader has checked.
        var fromFile = false
        if case .decoded = storage { fromFile = true }
        func finite(_ tensor: WeightTensor) -> Bool { !(fromFile && (tensor == .nodes ? nodeType : weightType) == .int8Row) }
        try Self.checkTensor("node weights", nodeWeights, [nodes, inputWidth], nodeType, rows: nodes, finite: finite(.nodes))
        try Self.checkTensor("node biases", nodeBiases, [nodes])
        try Self.checkTensor("leaf hidden weights", leafHiddenWeights, [leaves, inputWidth, leafWidth], weightType,
                             rows: leaves * leafWidth, finite: finite(.leafHidden))
        try Self.checkTensor("leaf hidden biases", leafHiddenBiases, [leaves, leafWidth])
        try Self.checkTensor("leaf output weights", leafOutputWeights, [leaves, leafWidth, outputWidth], weightType,
                             rows: leaves * outputWidth, finite: finite(.leafOutput))
        try Self.checkTensor("leaf output biases", leafOutputBiases, [leaves, outputWidth])
        if let master = masterLeaf {
            try Self.checkRange("master width", master.width, 1, FormatLimits.maxMasterWidth)
            try Self.checkTensor("master hidden weights", master.hiddenWeights, [inputWidth, master.width], weightType,
                                 rows: master.width, finite: finite(.masterHidden))
            try Self.checkTensor("master hidden biases", master.hiddenBiases, [master.width])
            try Self.checkTensor("master output weights", master.outputWeights, [master.width, outputWidth], weightType,
                                 rows: outputWidth, finite: finite(.masterOutput))
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
        var nodeWeights = nodeWeights, leafHiddenWeights = leafHiddenWeights, leafOutputWeights = leafOutputWeights
        var masterLeaf = masterLeaf
        switch storage {
        case .decoded(let scales, let quantized):
            for tensor in WeightTensor.allCases {
                let isInt8 = (tensor == .nodes ? nodeType : weightType) == .int8Row
                let present = tensor == .nodes ? depth >= 1 : (tensor == .masterHidden || tensor == .masterOutput ? masterLeaf != nil : true)
                let rows = layout(tensor).rows
                let expectedScales = isInt8 && present ? rows : 0
                let expectedQ = isInt8 && present ? layout(tensor).count : 0
                guard scales[tensor].count == expectedScales, quantized[tensor]?.count ?? 0 == expectedQ else {
                    throw FFFError(.shapeMismatch, "\(Self.name(of: tensor)) have \(scales[tensor].count) row scales and \(quantized[tensor]?.count ?? 0) int8 values; \(isInt8 ? "int8-row" : (tensor == .nodes ? nodeType : weightType).name) needs \(expectedScales) and \(expectedQ)")
                }
            }
            self.rowScales = scales
            self.quantizedValues = quantized.filter { !$0.value.isEmpty }
        case .encode:
            var scales = RowScales()
            var quantized: [WeightTensor: [Int8]] = [:]
            func encode(_ tensor: WeightTensor, _ values: inout [Float]) throws(FFFError) {
                let type = tensor == .nodes ? nodeType : weightType
                guard type != .float32 else { return }
                let encoded = try WeightEncoding.encode(values, as: type, layout: layout(tensor), what: Self.name(of: tensor))
                values = encoded.values
                if type == .int8Row {
                    scales[tensor] = encoded.scales
                    quantized[tensor] = encoded.q
                }
            }
            if depth >= 1 { try encode(.nodes, &nodeWeights) }
            try encode(.leafHidden, &leafHiddenWeights)
            try encode(.leafOutput, &leafOutputWeights)
            if let m = masterLeaf, weightType != .float32 {
                var hidden = m.hiddenWeights, output = m.outputWeights
                try encode(.masterHidden, &hidden)
                try encode(.masterOutput, &output)
                masterLeaf = MasterLeaf(width: m.width, hiddenWeights: hidden, hiddenBiases: m.hiddenBiases,
                                        outputWeights: output, outputBiases: m.outputBiases, mixingLogit: m.mixingLogit)
            }
            self.rowScales = scales
            self.quantizedValues = quantized
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
        self.weightType = weightType
        self.nodeType = nodeType
    }

    private static func checkRange(_ what: String, _ value: Int, _ low: Int, _ high: Int) throws(FFFError) {
        if value < low {
            throw FFFError(.invalidValue, "\(what) is \(value); it must be at least \(low)")
        }
        if value > high {
            throw FFFError(.limitExceeded, "\(what) is \(value); the limit is \(high)")
        }
    }

    /// Shape, the size limit of §15 for the tensor stored as `type` (`rows` rows for
    /// int8-row), then finiteness.
    private static func checkTensor(_ what: String, _ values: [Float], _ shape: [Int],
                                    _ type: ElementType = .float32, rows: Int = 0, finite: Bool = true) throws(FFFError) {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, UInt64(product) <= FormatLimits.maxSectionBytes else {
                throw FFFError(.limitExceeded, "\(what) of shape \(shape) exceeds \(FormatLimits.maxSectionBytes) bytes")
            }
            count = product
        }
        guard let bytes = type.byteSize(count: count, rows: rows), UInt64(bytes) <= FormatLimits.maxSectionBytes else {
            throw FFFError(.limitExceeded, "\(what) of shape \(shape) in \(type.name) exceeds \(FormatLimits.maxSectionBytes) bytes")
        }
        guard values.count == count else {
            throw FFFError(.shapeMismatch, "\(what) has \(values.count) values; shape \(shape) needs \(count)")
        }
        if finite { try checkFinite(what, values) }
    }

    private static func checkFinite(_ what: String, _ values: [Float]) throws(FFFError) {
        if let index = FloatScan.firstNonFinite(values) {
            throw FFFError(.nonFiniteParameter, "\(what)[\(index)] is \(values[index]); parameters must be finite")
        }
    }
}
