import Foundation
import Testing
@testable import FFFFormat

@Suite struct RoundTripTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let depth: Int, input: Int, output: Int, leafWidth: Int, masterWidth: Int
        let activation: Activation
        let preprocessing: TestModels.PreprocessingKind
        let labels: Bool
        let metadata: Bool
        var testDescription: String {
            "d\(depth) I\(input) O\(output) H\(leafWidth) M\(masterWidth) \(activation) prep:\(preprocessing) labels:\(labels) meta:\(metadata)"
        }
    }

    static let shapes: [Shape] = [
        Shape(depth: 0, input: 1, output: 1, leafWidth: 1, masterWidth: 0, activation: .identity, preprocessing: .none, labels: false, metadata: false),
        Shape(depth: 0, input: 5, output: 3, leafWidth: 4, masterWidth: 2, activation: .relu, preprocessing: .scalar, labels: true, metadata: true),
        Shape(depth: 1, input: 4, output: 2, leafWidth: 1, masterWidth: 0, activation: .gelu, preprocessing: .perFeature, labels: false, metadata: true),
        Shape(depth: 2, input: 7, output: 3, leafWidth: 3, masterWidth: 1, activation: .geluTanh, preprocessing: .none, labels: true, metadata: false),
        Shape(depth: 3, input: 6, output: 4, leafWidth: 2, masterWidth: 8, activation: .silu, preprocessing: .scalar, labels: true, metadata: true),
        Shape(depth: 4, input: 3, output: 2, leafWidth: 5, masterWidth: 0, activation: .sigmoid, preprocessing: .perFeature, labels: false, metadata: false),
        Shape(depth: 5, input: 9, output: 10, leafWidth: 8, masterWidth: 3, activation: .tanh, preprocessing: .scalar, labels: true, metadata: true),
    ]

    static let optionSets: [FFFWriter.Options] = [
        .init(codec: .none, shuffle: false), .init(codec: .none, shuffle: true),
        .init(codec: .zstd, level: 3, shuffle: false), .init(codec: .zstd, level: 19, shuffle: true),
    ]

    private func make(_ shape: Shape) throws -> FFFModel {
        try TestModels.make(
            depth: shape.depth, input: shape.input, output: shape.output, leafWidth: shape.leafWidth,
            masterWidth: shape.masterWidth, activation: shape.activation, preprocessing: shape.preprocessing,
            labels: shape.labels,
            metadata: shape.metadata ? [MetadataEntry(key: "producer", value: "RoundTripTests"),
                                        MetadataEntry(key: "training.f", value: "[0.5, 0.25]"),
                                        MetadataEntry(key: "empty", value: ""),
                                        MetadataEntry(key: "unicode", value: "Zürich ✓ \u{1F600}\nline 2")] : [],
            seed: UInt64(shape.depth * 100 + shape.input))
    }

    @Test(arguments: shapes)
    func roundTrip(shape: Shape) throws {
        let model = try make(shape)
        for options in Self.optionSets {
            let bytes = FFFWriter.write(model, options: options)
            let file = try FFFReader.readFile(bytes: bytes)
            #expect(file.model == model)
            #expect(bits(file.model.leafHiddenWeights) == bits(model.leafHiddenWeights))
            #expect(file.model.masterLeaf?.mixingLogit.bitPattern == model.masterLeaf?.mixingLogit.bitPattern)
            #expect(FFFWriter.write(file.model, options: options) == bytes, "write -> read -> write must reproduce the bytes")

            // Layout as the spec orders it, with the options' codec and filter.
            var expected = ["MODL"]
            if shape.preprocessing != .none { expected.append("PREP") }
            if shape.depth > 0 { expected += ["NODW", "NODB"] }
            expected += ["LFW1", "LFB1", "LFW2", "LFB2"]
            if shape.masterWidth > 0 { expected += ["MSW1", "MSB1", "MSW2", "MSB2"] }
            if shape.labels { expected.append("LABL") }
            if shape.metadata { expected.append("META") }
            #expect(file.layout.sections.map(\.type) == expected)
            #expect(file.layout.fileLength == bytes.count)
            for section in file.layout.sections {
                #expect(section.codec == options.codec)
                let tensor = KnownSection(rawValue: section.type)?.isTensor ?? false
                #expect(section.filter == (options.shuffle && tensor ? .shuffle(unit: 4) : .none))
                #expect(section.isCritical == (section.type != "LABL" && section.type != "META"))
                #expect(section.offset % 8 == 0)
            }
        }
    }

    /// Files from the writer agree with the independent test encoder, byte for byte, when both
    /// store sections plainly.
    @Test func writerMatchesIndependentEncoder() throws {
        let model = try TestModels.small()
        var sections = [RawSection("MODL", Raw.le(UInt32(1)) + Raw.le(UInt32(3)) + Raw.le(UInt32(2)) + Raw.le(UInt32(2))
                                    + Raw.le(UInt32(2)) + Raw.le(UInt32(2)) + [Activation.gelu.rawValue, 0, 0, 0]
                                    + Raw.le(model.masterLeaf!.mixingLogit.bitPattern) + [UInt8](repeating: 0, count: 32))]
        sections.append(RawSection("PREP", RawModel.preprocessing(scale: [2.0 / 255.0], offset: [-1])))
        for (type, values) in [("NODW", model.nodeWeights), ("NODB", model.nodeBiases),
                               ("LFW1", model.leafHiddenWeights), ("LFB1", model.leafHiddenBiases),
                               ("LFW2", model.leafOutputWeights), ("LFB2", model.leafOutputBiases),
                               ("MSW1", model.masterLeaf!.hiddenWeights), ("MSB1", model.masterLeaf!.hiddenBiases),
                               ("MSW2", model.masterLeaf!.outputWeights), ("MSB2", model.masterLeaf!.outputBiases)] {
            sections.append(RawSection(type, Raw.floats(values)))
        }
        sections.append(RawSection("LABL", RawModel.labels(model.labels!.map { Array($0.utf8) })))
        sections.append(RawSection("META", RawModel.metadata(model.metadata.map { (Array($0.key.utf8), Array($0.value.utf8)) })))
        #expect(FFFWriter.write(model, options: .init(codec: .none, shuffle: false)) == RawFile(sections: sections).bytes)
    }

    static let typePairs: [(ElementType, ElementType?)] = [
        (.float16, nil), (.bfloat16, nil), (.int8Row, nil), (.float16, .float32), (.bfloat16, .float16),
        (.int8Row, .int8Row), (.int8Row, .bfloat16), (.float16, .int8Row), (.bfloat16, .int8Row),
    ]

    /// Every shape in every compact type combination, through every storage mode: the model
    /// reads back equal (values, scales and q), writing again gives the same bytes, the file is
    /// minor version 1 with the types in `MODL` bytes 25 and 26, float16 and bfloat16 sections
    /// shuffled with unit 2, int8-row sections unfiltered, decoded lengths by the element sizes.
    @Test(arguments: shapes)
    func compactRoundTrip(shape: Shape) throws {
        let plain = try make(shape)
        for (weightType, nodeType) in Self.typePairs {
            let model = try plain.converted(weightType: weightType, nodeType: shape.depth == 0 ? nil : nodeType)
            for options in Self.optionSets {
                let bytes = FFFWriter.write(model, options: options)
                let file = try FFFReader.readFile(bytes: bytes)
                #expect(file.model == model, "\(weightType) \(model.nodeType) \(shape.testDescription)")
                #expect(file.model.rowScales == model.rowScales)
                for tensor in WeightTensor.allCases {
                    #expect(file.model.int8Values(of: tensor) == model.int8Values(of: tensor))
                    #expect(bits(file.model.weights(of: tensor)) == bits(model.weights(of: tensor)))
                }
                #expect(FFFWriter.write(file.model, options: options) == bytes)
                #expect(file.layout.minorVersion == 1)
                let modl = try #require(file.layout.section("MODL"))
                if options.codec == .none {
                    #expect(bytes[modl.offset + 25] == weightType.rawValue)
                    #expect(bytes[modl.offset + 26] == model.nodeType.rawValue)
                    #expect(bytes[modl.offset + 27] == 0)
                }
                for section in file.layout.sections {
                    guard let type = model.elementType(ofSection: section.type) else {
                        #expect(section.filter == .none)
                        continue
                    }
                    let unit = [ElementType.float32: 4, .float16: 2, .bfloat16: 2, .int8Row: 0][type]!
                    #expect(section.filter == (options.shuffle && unit != 0 ? .shuffle(unit: unit) : .none), "\(section.type)")
                    guard let tensor = WeightTensor.allCases.first(where: { $0.sectionType == section.type }) else { continue }
                    let count = model.weights(of: tensor).count
                    let expected = [ElementType.float32: 4 * count, .float16: 2 * count, .bfloat16: 2 * count,
                                    .int8Row: 4 * model.rowScales[tensor].count + count][type]!
                    #expect(section.decodedLength == expected, "\(section.type)")
                }
            }
        }
    }

    /// A float32 model is written as 1.0 (minor 0, bytes 25 ... 27 zero) whatever it went through.
    @Test func float32ModelsStayVersion10() throws {
        let model = try TestModels.small()
        let back = try model.converted(weightType: .float16).converted(weightType: .float32)
        for m in [model, back] {
            let bytes = FFFWriter.write(m, options: .init(codec: .none, shuffle: false))
            #expect(bytes[10] == 0 && bytes[11] == 0)
            let modl = try #require(Raw.sectionOffset(bytes, type: "MODL"))
            #expect(bytes[modl + 25 ..< modl + 28] == [0, 0, 0])
        }
    }

    /// The writer's compact payloads agree with the independent test encoder byte for byte:
    /// float16 through the standard library's `Float16`, bfloat16 the upper halves of the
    /// decoded values, int8-row the scales then q; shuffled with unit 2 when asked.
    @Test func compactWriterMatchesIndependentEncoder() throws {
        let base = try TestModels.small()
        for (weightType, nodeType) in [(ElementType.float16, ElementType.float16), (.bfloat16, .int8Row), (.int8Row, .float32)] {
            let model = try base.converted(weightType: weightType, nodeType: nodeType)
            for shuffle in [false, true] {
                var sections = [RawSection("MODL", Raw.le(UInt32(1)) + Raw.le(UInt32(3)) + Raw.le(UInt32(2)) + Raw.le(UInt32(2))
                                            + Raw.le(UInt32(2)) + Raw.le(UInt32(2)) + [Activation.gelu.rawValue, weightType.rawValue, nodeType.rawValue, 0]
                                            + Raw.le(model.masterLeaf!.mixingLogit.bitPattern) + [UInt8](repeating: 0, count: 32))]
                sections.append(RawSection("PREP", RawModel.preprocessing(scale: [2.0 / 255.0], offset: [-1])))
                func weights(_ tensor: WeightTensor) -> RawSection {
                    let values = model.weights(of: tensor)
                    switch model.elementType(of: tensor) {
                    case .float32:
                        let section = RawSection(tensor.sectionType, Raw.floats(values))
                        return shuffle ? section.shuffled(unit: 4) : section
                    case .float16:
                        let section = RawSection(tensor.sectionType, values.flatMap { Raw.le(Float16($0).bitPattern) })
                        return shuffle ? section.shuffled(unit: 2) : section
                    case .bfloat16:
                        #expect(values.allSatisfy { $0.bitPattern & 0xFFFF == 0 })
                        let section = RawSection(tensor.sectionType, values.flatMap { Raw.le(UInt16($0.bitPattern >> 16)) })
                        return shuffle ? section.shuffled(unit: 2) : section
                    case .int8Row:
                        let q = model.int8Values(of: tensor)!.map { UInt8(bitPattern: $0) }
                        return RawSection(tensor.sectionType, Raw.floats(model.rowScales[tensor]) + q)
                    }
                }
                func biases(_ type: String, _ values: [Float]) -> RawSection {
                    let section = RawSection(type, Raw.floats(values))
                    return shuffle ? section.shuffled(unit: 4) : section
                }
                sections += [weights(.nodes), biases("NODB", model.nodeBiases),
                             weights(.leafHidden), biases("LFB1", model.leafHiddenBiases),
                             weights(.leafOutput), biases("LFB2", model.leafOutputBiases),
                             weights(.masterHidden), biases("MSB1", model.masterLeaf!.hiddenBiases),
                             weights(.masterOutput), biases("MSB2", model.masterLeaf!.outputBiases)]
                sections.append(RawSection("LABL", RawModel.labels(model.labels!.map { Array($0.utf8) })))
                sections.append(RawSection("META", RawModel.metadata(model.metadata.map { (Array($0.key.utf8), Array($0.value.utf8)) })))
                var expected = RawFile(sections: sections)
                expected.minor = 1
                #expect(FFFWriter.write(model, options: .init(codec: .none, shuffle: shuffle)) == expected.bytes,
                        "\(weightType)/\(nodeType) shuffle \(shuffle)")
            }
        }
    }

    /// spec/FORMAT.md §7.2.4's example: the NODW payload of a depth-2 model with int8-row nodes.
    @Test func int8RowExampleOfTheSpec() throws {
        let nodes: [Float] = [0.5, -1.25, 0.1, 0, -0.0, 0, -3, 2, 0.7]
        let model = try FFFModel(inputWidth: 3, outputWidth: 1, depth: 2, leafWidth: 1, activation: .relu,
                                 nodeWeights: nodes, nodeBiases: [0, 0, 0],
                                 leafHiddenWeights: [Float](repeating: 1, count: 12), leafHiddenBiases: [0, 0, 0, 0],
                                 leafOutputWeights: [1, 1, 1, 1], leafOutputBiases: [0, 0, 0, 0],
                                 weightType: .float16, nodeType: .int8Row)
        let bytes = FFFWriter.write(model, options: .init(codec: .none, shuffle: false))
        let nodw = try #require(Raw.sectionOffset(bytes, type: "NODW"))
        #expect(Array(bytes[nodw ..< nodw + 21]) == [0x85, 0x42, 0x21, 0x3C, 0x00, 0x00, 0x80, 0x3F, 0x06, 0x83, 0xC1, 0x3C,
                                                    0x33, 0x81, 0x0A, 0x00, 0x00, 0x00, 0x81, 0x55, 0x1E])
        #expect(model.nodeWeights[0] == Float(Double(538_984_575) * 0x1p-30))
        #expect(model.nodeWeights[2] == Float(Double(52_841_625) * 0x1p-29))
        // float16 of 0.1 (§7.2.2's example) is 2E66, bfloat16 3DCD.
        #expect(WeightEncoding.float16Bits(0.1) == 0x2E66)
        #expect(WeightEncoding.bfloat16Bits(0.1) == 0x3DCD)
    }

    @Test func labelsThatAreCanonicallyEquivalentButDistinctBytesRoundTrip() throws {
        let precomposed = "\u{E9}", decomposed = "e\u{301}"
        let model = try TestModels.make(depth: 1, input: 2, output: 2, leafWidth: 1)
        let labelled = try FFFModel(
            inputWidth: 2, outputWidth: 2, depth: 1, leafWidth: 1, activation: .relu,
            nodeWeights: model.nodeWeights, nodeBiases: model.nodeBiases,
            leafHiddenWeights: model.leafHiddenWeights, leafHiddenBiases: model.leafHiddenBiases,
            leafOutputWeights: model.leafOutputWeights, leafOutputBiases: model.leafOutputBiases,
            labels: [precomposed, decomposed])
        let read = try FFFReader.read(bytes: FFFWriter.write(labelled))
        #expect(read.labels?.map { Array($0.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
    }

    @Test func negativeZeroLogitWithMasterSurvives() throws {
        let base = try TestModels.make(depth: 1, input: 2, output: 2, leafWidth: 1, masterWidth: 1)
        let master = MasterLeaf(width: 1, hiddenWeights: base.masterLeaf!.hiddenWeights, hiddenBiases: base.masterLeaf!.hiddenBiases,
                                outputWeights: base.masterLeaf!.outputWeights, outputBiases: base.masterLeaf!.outputBiases,
                                mixingLogit: -0.0)
        let model = try FFFModel(inputWidth: 2, outputWidth: 2, depth: 1, leafWidth: 1, activation: .relu,
                                 nodeWeights: base.nodeWeights, nodeBiases: base.nodeBiases,
                                 leafHiddenWeights: base.leafHiddenWeights, leafHiddenBiases: base.leafHiddenBiases,
                                 leafOutputWeights: base.leafOutputWeights, leafOutputBiases: base.leafOutputBiases,
                                 masterLeaf: master)
        let read = try FFFReader.read(bytes: FFFWriter.write(model))
        #expect(read.masterLeaf?.mixingLogit.bitPattern == 0x8000_0000)
    }

    @Test func fileRoundTripIsAtomicAndReadable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fff-roundtrip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.fff").path
        let model = try TestModels.small()
        try FFFWriter.write(model, to: path)
        #expect(try FFFReader.read(contentsOf: path) == model)
        // Overwriting replaces the file and leaves no temporary behind.
        try FFFWriter.write(model, to: path, options: .init(codec: .none))
        #expect(try FFFReader.readFile(contentsOf: path).layout.sections.allSatisfy { $0.codec == .none })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.fff"])

        // A write that cannot happen is io-error and leaves nothing.
        let missing = directory.appendingPathComponent("no/such/dir/model.fff").path
        #expect(throws: FFFError.self) { try FFFWriter.write(model, to: missing) }
        do {
            try FFFWriter.write(model, to: missing)
        } catch {
            #expect(error.code == .ioError)
        }
    }

    @Test func unreadablePathsAreIOErrors() throws {
        for path in ["/nonexistent/model.fff", FileManager.default.temporaryDirectory.path] {
            do {
                _ = try FFFReader.read(contentsOf: path)
                Issue.record("reading \(path) succeeded")
            } catch {
                #expect(error.code == .ioError)
                #expect(error.message.contains(path))
            }
        }
    }

    @Test func collectionsAndBuffersReadAlike() throws {
        let bytes = FFFWriter.write(try TestModels.small())
        let model = try FFFReader.read(bytes: bytes)
        #expect(try FFFReader.read(bytes: bytes[...]) == model)
        #expect(try FFFReader.read(bytes: Data(bytes)) == model)
        // An unaligned buffer: the reader must not assume alignment (§1.2).
        let shifted = [0x55] + bytes
        let viaBuffer = try shifted.withUnsafeBytes { raw in
            try FFFReader.read(bytes: UnsafeRawBufferPointer(rebasing: raw[1...]))
        }
        #expect(viaBuffer == model)
        let layout = try bytes.withUnsafeBytes { try FFFReader.layout(of: $0) }
        #expect(layout.sections.first?.type == "MODL")
        #expect(FFFValidator.validate(bytes: bytes) == nil)
    }
}
