import CFFFKernels
import FFFFormat

/// A model compiled for inference: the weights of an `FFFModel` repacked into the
/// layouts the kernels want, bound to one ``KernelPath``.
///
/// Build it once (O(number of parameters)) and share it freely: it is immutable and `Sendable`,
/// and any number of threads may call it at once, each with its own ``Workspace``. Inference
/// never allocates: once the model and a workspace exist, ``predict(_:into:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_)``,
/// ``classify(_:workspace:input:)-(UnsafeBufferPointer<Float>,_,_)``, ``leafIndex(_:workspace:input:)-(UnsafeBufferPointer<Float>,_,_)`` and
/// ``predictBatch(_:into:leaves:workspace:input:)-(UnsafeBufferPointer<Float>,_,_,_,_)`` touch only memory that already exists.
///
/// Repacked layouts (the file keeps its canonical one): every row is zero-padded to a multiple of
/// 16 elements and every tensor starts on a 64-byte boundary (so does every float32 row); node
/// rows `[N][I]` as in the file; leaf and master hidden weights from `[I][H]` to panels of 8
/// hidden units whose weights for each block of inputs (one vector of the kernel path) are
/// adjacent, so that computing 8 hidden units, one dot product each, reads the panel strictly in
/// order (measured 8-9 % faster than plain `[H][I]` rows, which stream 8 rows at once); output
/// weights `[H][O]` as in the file, padded.
///
/// Compact models (format 1.1) stay compact: weights are packed in their own element type
/// (``weightType``, ``nodeType``: 2 bytes for float16 and bfloat16, 1 byte for int8-row plus one
/// float32 scale per row) and the kernels widen them to float32 as they read them, so no float32
/// copy of the weights exists and a record reads half or a quarter of the bytes. The arithmetic
/// is float32 whatever the type (spec 1.1 §14): an int8-row unit is `scale * sum(q * x) + bias`.
///
/// Width mismatches are programming errors and trap: every entry point checks (in O(1)) that the
/// record has ``inputWidth`` values and the output room for ``outputWidth``, and stops the process
/// with a message naming both numbers otherwise. Callers that take widths from users (the
/// `fffrun` tool) validate them first.
public final class InferenceModel: @unchecked Sendable {
    // @unchecked: every stored property is immutable; the memory behind `plan` and `weights` is
    // written only by the initializer, read-only afterwards, and freed by deinit.

    /// `I`, the number of features of a record.
    public let inputWidth: Int
    /// `O`, the number of outputs.
    public let outputWidth: Int
    /// `d`: `2^d` leaves.
    public let depth: Int
    /// `H`, the hidden width of each leaf.
    public let leafWidth: Int
    /// `M`, the hidden width of the master leaf; 0 without one.
    public let masterWidth: Int
    /// The hidden activation.
    public let activation: Activation
    /// Whether the model declares preprocessing (applied to ``InputForm/raw`` records).
    public let hasPreprocessing: Bool
    /// The class labels, if the model has them.
    public let labels: [String]?
    /// The kernel path every call on this model runs.
    public let kernel: KernelPath
    /// How the leaf and master-leaf weights are stored and read (the model's `weightType`).
    public let weightType: ElementType
    /// How the node weights are stored and read (the model's `nodeType`).
    public let nodeType: ElementType
    /// The bytes of packed parameters (weights in their element type, row scales, biases,
    /// preprocessing, with the layout's padding): what this model keeps in memory besides O(1).
    public let packedByteCount: Int

    /// `2^depth`.
    public var leafCount: Int { 1 << depth }

    /// The preprocessing of input `feature` (spec §8: `x = raw * scale + offset`), or nil
    /// when the model has none. Precondition: `0 <= feature < inputWidth`. O(1).
    public func preprocessing(ofFeature feature: Int) -> (scale: Float, offset: Float)? {
        precondition(feature >= 0 && feature < inputWidth, "feature \(feature) of \(inputWidth)")
        guard hasPreprocessing, let scale = plan.pointee.scale, let offset = plan.pointee.offset else { return nil }
        return (scale[feature], offset[feature])
    }

    let plan: UnsafeMutablePointer<fff_plan>
    private let weights: UnsafeMutableRawPointer
    let inputStride: Int
    let outputStride: Int

    /// Compiles `model` for the kernel path `kernel`.
    ///
    /// Given the only copy of a model (`InferenceModel(try FFFReader.read(contentsOf: path))`,
    /// or `consume model`), each weight tensor is released as soon as it is packed, so building
    /// peaks at the model plus its largest weight tensor instead of twice the model.
    ///
    /// - Precondition: `kernel.isSupported`.
    /// - Complexity: O(number of parameters) time; memory about that of the model's tensors
    ///   (more when widths are far from multiples of 16).
    public init(_ model: consuming FFFModel, kernel: KernelPath = .default) {
        precondition(kernel.isSupported, "kernel path \(kernel) is not supported on this CPU")
        let I = model.inputWidth, O = model.outputWidth, H = model.leafWidth
        let L = model.leafCount, N = model.nodeCount
        let M = model.masterLeaf?.width ?? 0
        let Ip = AlignedArena.stride(I), Op = AlignedArena.stride(O)
        let wt = model.weightType, nt = model.nodeType
        let wScaled = wt == .int8Row, nScaled = nt == .int8Row

        var arena = AlignedArena()
        let prep = model.preprocessing != nil
        let scaleAt = prep ? arena.reserve(floats: Ip) : 0
        let offsetAt = prep ? arena.reserve(floats: Ip) : 0
        let nodeWAt = arena.reserve(bytes: N * Ip * Self.elementSize(nt))
        let nodeBAt = arena.reserve(floats: N)
        let nodeSAt = arena.reserve(floats: nScaled ? N : 0)
        let leafW1At = arena.reserve(bytes: L * H * Ip * Self.elementSize(wt))
        let leafB1At = arena.reserve(floats: L * H)
        let leafS1At = arena.reserve(floats: wScaled ? L * H : 0)
        let leafW2At = arena.reserve(bytes: L * H * Op * Self.elementSize(wt))
        let leafB2At = arena.reserve(floats: L * Op)
        let leafS2At = arena.reserve(floats: wScaled ? L * Op : 0)
        let masterW1At = arena.reserve(bytes: M * Ip * Self.elementSize(wt))
        let masterB1At = arena.reserve(floats: M)
        let masterS1At = arena.reserve(floats: wScaled ? M : 0)
        let masterW2At = arena.reserve(bytes: M * Op * Self.elementSize(wt))
        let masterB2At = arena.reserve(floats: M > 0 ? Op : 0)
        let masterS2At = arena.reserve(floats: wScaled && M > 0 ? Op : 0)
        let (base, block) = arena.allocate()

        func region(_ offset: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
            AlignedArena.floats(base, offset, count)
        }

        var p = fff_plan()
        p.input_width = Int64(I)
        p.input_stride = Int64(Ip)
        p.output_width = Int64(O)
        p.output_stride = Int64(Op)
        p.depth = Int64(model.depth)
        p.leaf_width = Int64(H)
        p.master_width = Int64(M)
        p.activation = Int32(model.activation.rawValue)
        p.kernel = kernel.code
        p.node_type = Int32(nt.rawValue)
        p.weight_type = Int32(wt.rawValue)
        p.prefetch_weights = Int32(fff_plan_prefetch_rule(&p))

        if let pre = model.preprocessing {
            let scale = region(scaleAt, Ip), offset = region(offsetAt, Ip)
            for i in 0..<I {
                scale[i] = pre.isScalar ? pre.scale[0] : pre.scale[i]
                offset[i] = pre.isScalar ? pre.offset[0] : pre.offset[i]
            }
            p.scale = UnsafePointer(scale)
            p.offset = UnsafePointer(offset)
            // Equal bit patterns: the kernels may then use scale[0] and offset[0] for every input
            // and compute exactly what the arrays would give.
            let uniform = (0..<I).allSatisfy {
                scale[$0].bitPattern == scale[0].bitPattern && offset[$0].bitPattern == offset[0].bitPattern
            }
            p.prep_uniform = uniform ? 1 : 0
        }

        // Each tensor is packed and then released from the model (which frees it if this was
        // the only copy), so that building peaks at the model plus one tensor.
        let lanes = Int(fff_kernel_lanes(kernel.code))
        p.node_w = Self.pack(&model, .nodes, base + nodeWAt) { source, destination, size in
            for n in 0..<N {
                (destination + n * Ip * size).copyMemory(from: source + n * I * size, byteCount: I * size)
            }
        }
        if nt == .bfloat16 {
            Self.pairNodeBlocks(base + nodeWAt, rows: N, stride: Ip, lanes: lanes)
        }
        p.node_b = Self.copy(model.nodeBiases, to: region(nodeBAt, N))
        if nScaled { p.node_scale = Self.copy(model.rowScales.nodes, to: region(nodeSAt, N)) }

        // Hidden weights: [rows][I][width] -> panels of [rows][width][Ip].
        p.leaf_w1 = Self.pack(&model, .leafHidden, base + leafW1At) { source, destination, size in
            Self.packPanels(source, blocks: L, inputs: I, width: H, stride: Ip, lanes: lanes,
                            elementSize: size, to: destination)
        }
        if wt == .bfloat16 {
            Self.pairPanelRows(base + leafW1At, blocks: L, width: H, stride: Ip, lanes: lanes)
        }
        p.leaf_b1 = Self.copy(model.leafHiddenBiases, to: region(leafB1At, L * H))
        p.leaf_w2 = Self.pack(&model, .leafOutput, base + leafW2At) { source, destination, size in
            Self.padRows(source, rows: L * H, width: O, stride: Op, elementSize: size, to: destination)
        }
        p.leaf_b2 = Self.padRows(model.leafOutputBiases, rows: L, width: O, stride: Op,
                                 to: region(leafB2At, L * Op))
        if wScaled {
            p.leaf_w1_scale = Self.copy(model.rowScales.leafHidden, to: region(leafS1At, L * H))
            p.leaf_w2_scale = Self.padRows(model.rowScales.leafOutput, rows: L, width: O, stride: Op,
                                           to: region(leafS2At, L * Op))
        }

        if let master = model.masterLeaf {
            p.master_w1 = Self.pack(&model, .masterHidden, base + masterW1At) { source, destination, size in
                Self.packPanels(source, blocks: 1, inputs: I, width: M, stride: Ip, lanes: lanes,
                                elementSize: size, to: destination)
            }
            if wt == .bfloat16 {
                Self.pairPanelRows(base + masterW1At, blocks: 1, width: M, stride: Ip, lanes: lanes)
            }
            p.master_b1 = Self.copy(master.hiddenBiases, to: region(masterB1At, M))
            p.master_w2 = Self.pack(&model, .masterOutput, base + masterW2At) { source, destination, size in
                Self.padRows(source, rows: M, width: O, stride: Op, elementSize: size, to: destination)
            }
            p.master_b2 = Self.padRows(master.outputBiases, rows: 1, width: O, stride: Op,
                                       to: region(masterB2At, Op))
            if wScaled {
                p.master_w1_scale = Self.copy(model.rowScales.masterHidden, to: region(masterS1At, M))
                p.master_w2_scale = Self.padRows(model.rowScales.masterOutput, rows: 1, width: O, stride: Op,
                                                 to: region(masterS2At, Op))
            }
            fff_mixing_weights(master.mixingLogit, &p.mix_leaf, &p.mix_master)
        } else {
            p.mix_leaf = 1
            p.mix_master = 0
        }

        let planPointer = UnsafeMutablePointer<fff_plan>.allocate(capacity: 1)
        planPointer.initialize(to: p)
        self.plan = planPointer
        self.weights = block
        self.inputStride = Ip
        self.outputStride = Op
        self.inputWidth = I
        self.outputWidth = O
        self.depth = model.depth
        self.leafWidth = H
        self.masterWidth = M
        self.activation = model.activation
        self.hasPreprocessing = prep
        self.labels = model.labels
        self.kernel = kernel
        self.weightType = wt
        self.nodeType = nt
        self.packedByteCount = arena.byteCount
    }

    deinit {
        plan.deinitialize(count: 1)
        plan.deallocate()
        AlignedArena.deallocate(weights)
    }

    /// A new workspace sized for this model. Shorthand for `Workspace(for: self)`.
    /// - Complexity: O(input width x batch capacity) to allocate and zero it.
    public func makeWorkspace() -> Workspace { Workspace(for: self) }

    /// Bytes per element of a packed tensor of type `type`.
    static func elementSize(_ type: ElementType) -> Int {
        switch type {
        case .float32: 4
        case .float16, .bfloat16: 2
        case .int8Row: 1
        }
    }

    /// Packs one weight tensor of `model` in its element type at `destination` through `layout`
    /// (which moves elements of `size` bytes from the canonical order to the kernels' one), then
    /// releases the tensor from the model. float16 and bfloat16 values are encoded from the
    /// model's float32 values, which hold them exactly (checked); int8-row tensors are packed
    /// from their `q`, the scales separately. O(elements).
    private static func pack(
        _ model: inout FFFModel, _ tensor: WeightTensor, _ destination: UnsafeMutableRawPointer,
        layout: (UnsafeRawPointer, UnsafeMutableRawPointer, Int) -> Void
    ) -> UnsafeRawPointer {
        let type = model.elementType(of: tensor)
        let size = elementSize(type)
        switch type {
        case .float32:
            model.weights(of: tensor).withUnsafeBytes { layout($0.baseAddress ?? UnsafeRawPointer(destination), destination, size) }
        case .float16, .bfloat16:
            let encoded = encodeHalves(model.weights(of: tensor), as: type)
            encoded.withUnsafeBytes { layout($0.baseAddress ?? UnsafeRawPointer(destination), destination, size) }
        case .int8Row:
            guard let q = model.int8Values(of: tensor) else {
                preconditionFailure("an int8-row \(tensor.sectionType) without its int8 values")
            }
            q.withUnsafeBytes { layout($0.baseAddress ?? UnsafeRawPointer(destination), destination, size) }
        }
        model.releaseWeights(of: tensor)
        return UnsafeRawPointer(destination)
    }

    /// The 16-bit patterns of float16 or bfloat16 values, which must be exactly representable
    /// (a model's decoded values are).
    static func encodeHalves(_ values: [Float], as type: ElementType) -> [UInt16] {
        values.map { value in
            let bits: UInt16
            let back: Float
            if type == .float16 {
                let half = Float16(value)
                bits = half.bitPattern
                back = Float(half)
            } else {
                bits = UInt16(truncatingIfNeeded: value.bitPattern >> 16)
                back = Float(bitPattern: UInt32(bits) << 16)
            }
            precondition(back.bitPattern == value.bitPattern, "\(value) is not a \(type) value")
            return bits
        }
    }

    private static func copy(_ values: [Float], to destination: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        values.withUnsafeBufferPointer { src in
            if let source = src.baseAddress { destination.update(from: source, count: src.count) }
        }
        return UnsafePointer(destination)
    }

    private static func padRows(_ values: [Float], rows: Int, width: Int, stride: Int,
                                to destination: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        values.withUnsafeBytes { src in
            padRows(src.baseAddress!, rows: rows, width: width, stride: stride, elementSize: 4,
                    to: UnsafeMutableRawPointer(destination))
        }
        return UnsafePointer(destination)
    }

    /// `rows` rows of `width` elements of `elementSize` bytes to rows of `stride` elements.
    private static func padRows(_ source: UnsafeRawPointer, rows: Int, width: Int, stride: Int, elementSize size: Int,
                                to destination: UnsafeMutableRawPointer) {
        for r in 0..<rows {
            (destination + r * stride * size).copyMemory(from: source + r * width * size, byteCount: width * size)
        }
    }

    /// Packs hidden weights `[blocks][inputs][width]` (the file's layout) into the kernels' panels
    /// (see `fff_plan` in CFFFKernels.h): per block, units in groups of 8; within a group of `R`
    /// units, the `lanes` weights of unit `r` for input block `kb` at element `(kb * R + r) * lanes`.
    /// Elements are `elementSize` bytes. Inputs past `inputs` stay zero. O(blocks x inputs x width).
    private static func packPanels(_ source: UnsafeRawPointer, blocks: Int, inputs: Int, width: Int, stride: Int,
                                   lanes: Int, elementSize size: Int, to destination: UnsafeMutableRawPointer) {
        switch size {
        case 4: packPanels(source.assumingMemoryBound(to: UInt32.self), blocks: blocks, inputs: inputs, width: width,
                           stride: stride, lanes: lanes, to: destination.assumingMemoryBound(to: UInt32.self))
        case 2: packPanels(source.assumingMemoryBound(to: UInt16.self), blocks: blocks, inputs: inputs, width: width,
                           stride: stride, lanes: lanes, to: destination.assumingMemoryBound(to: UInt16.self))
        default: packPanels(source.assumingMemoryBound(to: UInt8.self), blocks: blocks, inputs: inputs, width: width,
                            stride: stride, lanes: lanes, to: destination.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Interleaves two blocks of `lanes` 16-bit elements that follow each other at `at`: word j
    /// of the result holds element j of the first block in its low half and of the second in its
    /// high half (the kernels' bfloat16 pairs, see `fff_plan`).
    private static func interleave(_ at: UnsafeMutablePointer<UInt16>, lanes: Int) {
        withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 2 * lanes) { copy in
            for j in 0..<(2 * lanes) { copy[j] = at[j] }
            for j in 0..<lanes {
                at[2 * j] = copy[j]
                at[2 * j + 1] = copy[lanes + j]
            }
        }
    }

    /// bfloat16 node rows: consecutive input blocks (2i, 2i + 1) interleaved; the last block of
    /// a row with an odd number of blocks stays as it is.
    private static func pairNodeBlocks(_ raw: UnsafeMutableRawPointer, rows: Int, stride: Int, lanes: Int) {
        let base = raw.assumingMemoryBound(to: UInt16.self)
        let blocks = stride / lanes
        for n in 0..<rows {
            for i in 0..<(blocks / 2) {
                interleave(base + n * stride + 2 * i * lanes, lanes: lanes)
            }
        }
    }

    /// bfloat16 panels: at every input block, rows (2i, 2i + 1) of a panel interleaved; the last
    /// row of a panel with an odd number of rows stays as it is.
    private static func pairPanelRows(_ raw: UnsafeMutableRawPointer, blocks: Int, width: Int, stride: Int, lanes: Int) {
        let base = raw.assumingMemoryBound(to: UInt16.self)
        let panelRows = Int(FFF_PANEL_ROWS)
        for a in 0..<blocks {
            var first = 0
            while first < width {
                let rows = min(panelRows, width - first)
                let panel = base + a * width * stride + first * stride
                for kb in 0..<(stride / lanes) {
                    for r in Swift.stride(from: 0, to: rows - 1, by: 2) {
                        interleave(panel + (kb * rows + r) * lanes, lanes: lanes)
                    }
                }
                first += rows
            }
        }
    }

    private static func packPanels<E>(_ from: UnsafePointer<E>, blocks: Int, inputs: Int, width: Int, stride: Int,
                                      lanes: Int, to destination: UnsafeMutablePointer<E>) {
        let panelRows = Int(FFF_PANEL_ROWS)
        for a in 0..<blocks {
            let source = from + a * inputs * width
            let block = destination + a * width * stride
            var first = 0
            while first < width {
                let rows = min(panelRows, width - first)
                let panel = block + first * stride
                for b in 0..<inputs {
                    let (kb, lane) = b.quotientAndRemainder(dividingBy: lanes)
                    let base = panel + kb * rows * lanes + lane
                    for r in 0..<rows {
                        base[r * lanes] = source[b * width + first + r]
                    }
                }
                first += rows
            }
        }
    }
}

extension FFFModel {
    /// Drops a weight tensor (its float32 values and, for int8-row, its q) once the runtime has
    /// packed it; frees it when this was the only copy. The master leaf's tensors are immutable
    /// and stay (they are one leaf's worth of weights).
    mutating func releaseWeights(of tensor: WeightTensor) {
        switch tensor {
        case .nodes: nodeWeights = []
        case .leafHidden: leafHiddenWeights = []
        case .leafOutput: leafOutputWeights = []
        case .masterHidden, .masterOutput: break
        }
        quantizedValues[tensor] = nil
    }
}
