import FastFeedforward

/// Sizes and per-record costs of a model, as `fffrun info` reports them.
struct ModelSummary {
    let depth: Int
    let leaves: Int
    let nodes: Int
    let inputWidth: Int
    let leafWidth: Int
    let masterWidth: Int
    let outputWidth: Int

    /// Parameters per section type, in §6's order (tensor sections only), and per group.
    let tensorParameters: [(String, Int)]
    let nodeParameters: Int
    let leafParameters: Int
    /// Master leaf tensors plus the mixing logit.
    let masterParameters: Int
    var totalParameters: Int { nodeParameters + leafParameters + masterParameters }

    /// Multiply-adds per record: `depth * I` for the descent.
    var descentMultiplyAdds: Int { depth * inputWidth }
    /// `I * H + H * O` for the chosen leaf.
    var leafMultiplyAdds: Int { inputWidth * leafWidth + leafWidth * outputWidth }
    /// `I * M + M * O` for the master leaf (0 without one).
    var masterMultiplyAdds: Int { inputWidth * masterWidth + masterWidth * outputWidth }
    var totalMultiplyAdds: Int { descentMultiplyAdds + leafMultiplyAdds + masterMultiplyAdds }
    /// The hidden width of the dense layer an FFF of this size stands for: `2^depth * H`.
    var denseWidth: Int { leaves * leafWidth }
    /// `I * W + W * O` for a dense layer of width `W = denseWidth`.
    var denseMultiplyAdds: Int { inputWidth * denseWidth + denseWidth * outputWidth }
    /// How many times fewer multiply-adds the FFF needs than the dense layer.
    var speedup: Double { Double(denseMultiplyAdds) / Double(totalMultiplyAdds) }

    init(_ model: FFFModel) {
        depth = model.depth
        leaves = model.leafCount
        nodes = model.nodeCount
        inputWidth = model.inputWidth
        leafWidth = model.leafWidth
        masterWidth = model.masterLeaf?.width ?? 0
        outputWidth = model.outputWidth
        var tensors: [(String, Int)] = []
        if model.depth >= 1 {
            tensors += [("NODW", model.nodeWeights.count), ("NODB", model.nodeBiases.count)]
        }
        tensors += [("LFW1", model.leafHiddenWeights.count), ("LFB1", model.leafHiddenBiases.count),
                    ("LFW2", model.leafOutputWeights.count), ("LFB2", model.leafOutputBiases.count)]
        if let master = model.masterLeaf {
            tensors += [("MSW1", master.hiddenWeights.count), ("MSB1", master.hiddenBiases.count),
                        ("MSW2", master.outputWeights.count), ("MSB2", master.outputBiases.count)]
        }
        tensorParameters = tensors
        nodeParameters = model.nodeWeights.count + model.nodeBiases.count
        leafParameters = model.leafHiddenWeights.count + model.leafHiddenBiases.count
            + model.leafOutputWeights.count + model.leafOutputBiases.count
        if let master = model.masterLeaf {
            masterParameters = master.hiddenWeights.count + master.hiddenBiases.count
                + master.outputWeights.count + master.outputBiases.count + 1
        } else {
            masterParameters = 0
        }
    }
}
