import Testing
@testable import FFFFormat
import FFFTestSupport

/// Builds valid models of any shape through `FFFModel`'s validating initializer.
enum TestModels {
    static func make(
        depth: Int, input: Int, output: Int, leafWidth: Int, masterWidth: Int = 0,
        activation: Activation = .relu, preprocessing: PreprocessingKind = .none,
        labels: Bool = false, metadata: [MetadataEntry] = [], seed: UInt64 = 1,
        weightType: ElementType = .float32, nodeType: ElementType? = nil
    ) throws -> FFFModel {
        var rng = SplitMix64(seed: seed)
        let leaves = 1 << depth
        let nodes = leaves - 1
        var master: MasterLeaf?
        if masterWidth > 0 {
            master = MasterLeaf(width: masterWidth,
                                hiddenWeights: rng.floats(input * masterWidth), hiddenBiases: rng.floats(masterWidth),
                                outputWeights: rng.floats(masterWidth * output), outputBiases: rng.floats(output),
                                mixingLogit: rng.float() * 3)
        }
        let pre: Preprocessing?
        switch preprocessing {
        case .none: pre = nil
        case .scalar: pre = Preprocessing(scale: 2.0 / 255.0, offset: -1)
        case .perFeature: pre = Preprocessing(scale: rng.floats(input), offset: rng.floats(input))
        }
        return try FFFModel(
            inputWidth: input, outputWidth: output, depth: depth, leafWidth: leafWidth, activation: activation,
            preprocessing: pre,
            nodeWeights: rng.floats(nodes * input), nodeBiases: rng.floats(nodes),
            leafHiddenWeights: rng.floats(leaves * input * leafWidth), leafHiddenBiases: rng.floats(leaves * leafWidth),
            leafOutputWeights: rng.floats(leaves * leafWidth * output), leafOutputBiases: rng.floats(leaves * output),
            masterLeaf: master,
            labels: labels ? (0..<output).map { "class \($0) é" } : nil,
            metadata: metadata, weightType: weightType, nodeType: nodeType)
    }

    enum PreprocessingKind { case none, scalar, perFeature }

    /// A small model using every optional section: a file of about 1 KB.
    static func small() throws -> FFFModel {
        try make(depth: 2, input: 3, output: 2, leafWidth: 2, masterWidth: 2, activation: .gelu,
                 preprocessing: .scalar, labels: true,
                 metadata: [MetadataEntry(key: "name", value: "tiny"), MetadataEntry(key: "empty", value: "")])
    }
}

/// The error code of reading `bytes`, or `nil` if they read.
func readError(_ bytes: [UInt8], options: FFFReader.Options = .init()) -> FFFError? {
    do {
        _ = try FFFReader.read(bytes: bytes, options: options)
        return nil
    } catch {
        return error
    }
}

/// Asserts that reading `bytes` fails with `code`.
func expectCode(_ bytes: [UInt8], _ code: FFFErrorCode, options: FFFReader.Options = .init(),
                sourceLocation: SourceLocation = #_sourceLocation) {
    let error = readError(bytes, options: options)
    #expect(error?.code == code, "expected \(code.rawValue), got \(error.map { "\($0)" } ?? "success")",
            sourceLocation: sourceLocation)
}

/// Bit patterns, so that -0.0 and 0.0 differ and the comparison is exact.
func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

/// Asserts that `body` throws an `FFFError` with `code`; returns the error.
@discardableResult
func expectThrows<R>(_ code: FFFErrorCode, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> R) -> FFFError? {
    do {
        _ = try body()
        Issue.record("expected \(code.rawValue), got success", sourceLocation: sourceLocation)
    } catch let error as FFFError {
        #expect(error.code == code, "expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
