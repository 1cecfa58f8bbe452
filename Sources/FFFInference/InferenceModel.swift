import CFFFKernels
import FFFFormat

/// A model compiled for inference: the weights of an ``FFFFormat/FFFModel`` repacked into the
/// layouts the kernels want, bound to one ``KernelPath``.
///
/// Build it once (O(number of parameters)) and share it freely: it is immutable and `Sendable`,
/// and any number of threads may call it at once, each with its own ``Workspace``. Inference
/// never allocates: once the model and a workspace exist, ``predict(_:into:workspace:input:)``,
/// ``classify(_:workspace:input:)``, ``leafIndex(_:workspace:input:)`` and
/// ``predictBatch(_:into:leaves:workspace:input:)`` touch only memory that already exists.
///
/// Repacked layouts (the file keeps its canonical one): every row starts on a 64-byte boundary
/// and is zero-padded to a multiple of 16 floats; node rows `[N][I]` as in the file; leaf and
/// master hidden weights from `[I][H]` to panels of 8 hidden units whose weights for each block
/// of inputs (one vector of the kernel path) are adjacent, so that computing 8 hidden units, one
/// dot product each, reads the panel strictly in order (measured 8-9 % faster than plain `[H][I]`
/// rows, which stream 8 rows at once); output weights `[H][O]` as in the file, padded.
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

        var arena = AlignedArena()
        let prep = model.preprocessing != nil
        let scaleAt = prep ? arena.reserve(floats: Ip) : 0
        let offsetAt = prep ? arena.reserve(floats: Ip) : 0
        let nodeWAt = arena.reserve(floats: N * Ip)
        let nodeBAt = arena.reserve(floats: N)
        let leafW1At = arena.reserve(floats: L * H * Ip)
        let leafB1At = arena.reserve(floats: L * H)
        let leafW2At = arena.reserve(floats: L * H * Op)
        let leafB2At = arena.reserve(floats: L * Op)
        let masterW1At = arena.reserve(floats: M * Ip)
        let masterB1At = arena.reserve(floats: M)
        let masterW2At = arena.reserve(floats: M * Op)
        let masterB2At = arena.reserve(floats: M > 0 ? Op : 0)
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

        if let pre = model.preprocessing {
            let scale = region(scaleAt, Ip), offset = region(offsetAt, Ip)
            for i in 0..<I {
                scale[i] = pre.isScalar ? pre.scale[0] : pre.scale[i]
                offset[i] = pre.isScalar ? pre.offset[0] : pre.offset[i]
            }
            p.scale = UnsafePointer(scale)
            p.offset = UnsafePointer(offset)
        }

        let nodeW = region(nodeWAt, N * Ip)
        model.nodeWeights.withUnsafeBufferPointer { src in
            for n in 0..<N {
                (nodeW + n * Ip).update(from: src.baseAddress! + n * I, count: I)
            }
        }
        p.node_w = UnsafePointer(nodeW)
        model.nodeWeights = []  // frees it if this was the only copy
        p.node_b = Self.copy(model.nodeBiases, to: region(nodeBAt, N))

        // Hidden weights: [rows][I][width] -> [rows][width][Ip].
        let lanes = Int(fff_kernel_lanes(kernel.code))
        p.leaf_w1 = Self.packPanels(model.leafHiddenWeights, blocks: L, inputs: I, width: H,
                                    stride: Ip, lanes: lanes, to: region(leafW1At, L * H * Ip))
        model.leafHiddenWeights = []
        p.leaf_b1 = Self.copy(model.leafHiddenBiases, to: region(leafB1At, L * H))
        p.leaf_w2 = Self.padRows(model.leafOutputWeights, rows: L * H, width: O, stride: Op,
                                 to: region(leafW2At, L * H * Op))
        model.leafOutputWeights = []
        p.leaf_b2 = Self.padRows(model.leafOutputBiases, rows: L, width: O, stride: Op,
                                 to: region(leafB2At, L * Op))

        if let master = model.masterLeaf {
            p.master_w1 = Self.packPanels(master.hiddenWeights, blocks: 1, inputs: I, width: M,
                                          stride: Ip, lanes: lanes, to: region(masterW1At, M * Ip))
            p.master_b1 = Self.copy(master.hiddenBiases, to: region(masterB1At, M))
            p.master_w2 = Self.padRows(master.outputWeights, rows: M, width: O, stride: Op,
                                       to: region(masterW2At, M * Op))
            p.master_b2 = Self.padRows(master.outputBiases, rows: 1, width: O, stride: Op,
                                       to: region(masterB2At, Op))
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
    }

    deinit {
        plan.deinitialize(count: 1)
        plan.deallocate()
        AlignedArena.deallocate(weights)
    }

    /// A new workspace sized for this model. Shorthand for `Workspace(for: self)`.
    /// - Complexity: O(input width x batch capacity) to allocate and zero it.
    public func makeWorkspace() -> Workspace { Workspace(for: self) }

    private static func copy(_ values: [Float], to destination: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        values.withUnsafeBufferPointer { src in
            if let source = src.baseAddress { destination.update(from: source, count: src.count) }
        }
        return UnsafePointer(destination)
    }

    private static func padRows(_ values: [Float], rows: Int, width: Int, stride: Int,
                                to destination: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        values.withUnsafeBufferPointer { src in
            for r in 0..<rows {
                (destination + r * stride).update(from: src.baseAddress! + r * width, count: width)
            }
        }
        return UnsafePointer(destination)
    }

    /// Packs hidden weights `[blocks][inputs][width]` (the file's layout) into the kernels' panels
    /// (see `fff_plan` in CFFFKernels.h): per block, units in groups of 8; within a group of `R`
    /// units, the `lanes` weights of unit `r` for input block `kb` at `(kb * R + r) * lanes`.
    /// Inputs past `inputs` stay zero. O(blocks x inputs x width).
    private static func packPanels(_ values: [Float], blocks: Int, inputs: Int, width: Int, stride: Int,
                                   lanes: Int, to destination: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let panelRows = Int(FFF_PANEL_ROWS)
        values.withUnsafeBufferPointer { src in
            for a in 0..<blocks {
                let from = src.baseAddress! + a * inputs * width
                let block = destination + a * width * stride
                var first = 0
                while first < width {
                    let rows = min(panelRows, width - first)
                    let panel = block + first * stride
                    for b in 0..<inputs {
                        let (kb, lane) = b.quotientAndRemainder(dividingBy: lanes)
                        let base = panel + kb * rows * lanes + lane
                        for r in 0..<rows {
                            base[r * lanes] = from[b * width + first + r]
                        }
                    }
                    first += rows
                }
            }
        }
        return UnsafePointer(destination)
    }
}
