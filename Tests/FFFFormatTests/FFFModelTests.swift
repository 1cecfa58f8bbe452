import Testing
@testable import FFFFormat

@Suite struct FFFModelTests {
    @Test func rejectsWrongShape() {
        #expect(throws: FFFError.self) {
            _ = try FFFModel(inputWidth: 2, outputWidth: 1, depth: 0, leafWidth: 1, activation: .relu,
                             nodeWeights: [], nodeBiases: [], leafHiddenWeights: [1],
                             leafHiddenBiases: [0], leafOutputWeights: [1], leafOutputBiases: [0])
        }
    }
}

@Suite struct FloatScanTests {
    /// Every position around the 1024-value blocks, every kind of non-finite value.
    @Test func findsTheFirstNonFiniteValue() {
        #expect(FloatScan.firstNonFinite([]) == nil)
        let finite: [Float] = [0, -0.0, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                               .leastNonzeroMagnitude, .leastNormalMagnitude, 1, -1]
        #expect(FloatScan.firstNonFinite(finite) == nil)
        for bad in [Float.nan, -.nan, .infinity, -.infinity, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFFF_FFFF)] {
            for position in [0, 1, 1023, 1024, 1025, 2047, 2999] {
                var values = [Float](repeating: 1.5, count: 3000)
                values[position] = bad
                values[2999] = .nan  // a later one must not be reported instead
                #expect(FloatScan.firstNonFinite(values) == position, "\(bad) at \(position)")
            }
        }
    }
}

@Suite struct FFFModelLabelTests {
    private func model(labels: [String]) throws -> FFFModel {
        try FFFModel(inputWidth: 1, outputWidth: labels.count, depth: 0, leafWidth: 1, activation: .relu,
                     nodeWeights: [], nodeBiases: [], leafHiddenWeights: [1], leafHiddenBiases: [0],
                     leafOutputWeights: [Float](repeating: 1, count: labels.count),
                     leafOutputBiases: [Float](repeating: 0, count: labels.count), labels: labels)
    }

    /// The spec compares labels byte for byte: canonically equivalent spellings are distinct.
    @Test func labelsAreDistinctByBytes() throws {
        #expect(try model(labels: ["\u{E9}", "e\u{301}"]).labels?.count == 2)
        #expect(throws: FFFError.self) { try model(labels: ["a", "a"]) }
        #expect(throws: FFFError.self) { try model(labels: ["a", ""]) }
    }
}

@Suite struct ElementTypeTests {
    @Test func codesAndNames() {
        #expect(ElementType.allCases.map(\.rawValue) == [0, 1, 2, 3])
        #expect(ElementType.allCases.map(\.name) == ["float32", "float16", "bfloat16", "int8-row"])
        #expect(ElementType.allCases.map(\.description) == ElementType.allCases.map(\.name))
        for type in ElementType.allCases { #expect(ElementType(name: type.name) == type) }
        #expect(ElementType(name: "int8") == nil)
        #expect(ElementType(name: "Float16") == nil)
        #expect(ElementType(rawValue: 4) == nil)
        #expect(ElementType.allCases.filter(\.isCompact) == [.float16, .bfloat16, .int8Row])
        #expect(WeightTensor.allCases.map(\.sectionType) == ["NODW", "LFW1", "LFW2", "MSW1", "MSW2"])
    }

    @Test func byteSizes() {
        #expect(ElementType.float32.byteSize(count: 10, rows: 2) == 40)
        #expect(ElementType.float16.byteSize(count: 10, rows: 2) == 20)
        #expect(ElementType.bfloat16.byteSize(count: 10, rows: 2) == 20)
        #expect(ElementType.int8Row.byteSize(count: 10, rows: 2) == 18)
        #expect(ElementType.float32.byteSize(count: Int.max / 2, rows: 1) == nil)
        #expect(ElementType.int8Row.byteSize(count: Int.max - 3, rows: 1) == nil)
    }
}

/// The compact-weight API of `FFFModel` (format 1.1): types, encoding in the initializer,
/// `converted`, `rowScales` and `int8Values`.
@Suite struct FFFModelCompactTests {
    private func model(_ weightType: ElementType = .float32, _ nodeType: ElementType? = nil,
                       depth: Int = 2, masterWidth: Int = 3) throws -> FFFModel {
        try TestModels.make(depth: depth, input: 5, output: 3, leafWidth: 4, masterWidth: masterWidth,
                            seed: 3, weightType: weightType, nodeType: nodeType)
    }

    @Test func defaultNodeTypes() throws {
        #expect(try model().nodeType == .float32)
        #expect(try model(.float16).nodeType == .float16)
        #expect(try model(.bfloat16).nodeType == .bfloat16)
        #expect(try model(.int8Row).nodeType == .float32)
        for type in ElementType.allCases {
            #expect(try model(type, depth: 0).nodeType == .float32)
            #expect(try model(type).weightType == type)
        }
        #expect(try model(.int8Row, .int8Row).nodeType == .int8Row)
        #expect(try model(.float16, .int8Row).nodeType == .int8Row)
        #expect(try model(.int8Row, .bfloat16).nodeType == .bfloat16)
    }

    @Test func disallowedTypeCombinationsAreInvalidValue() throws {
        for node in [ElementType.float16, .bfloat16, .int8Row] {
            expectThrows(.invalidValue) { try model(.float32, node) }
            expectThrows(.invalidValue) { try model(.float16, node, depth: 0) }
            expectThrows(.invalidValue) { try model().converted(weightType: .float32, nodeType: node) }
        }
    }

    /// The initializer stores what a file decodes to: each weight rounded to its type.
    @Test func initializerEncodesTheWeights() throws {
        let plain = try model()
        let half = try model(.float16)
        #expect(half.leafHiddenWeights == plain.leafHiddenWeights.map { Float(Float16($0)) })
        #expect(half.nodeWeights == plain.nodeWeights.map { Float(Float16($0)) })
        #expect(half.masterLeaf?.outputWeights == plain.masterLeaf?.outputWeights.map { Float(Float16($0)) })
        #expect(bits(half.leafHiddenBiases) == bits(plain.leafHiddenBiases))  // biases stay float32
        #expect(half.leafHiddenWeights != plain.leafHiddenWeights)
        let brain = try model(.bfloat16, .float32)
        #expect(brain.leafOutputWeights == plain.leafOutputWeights.map { WeightEncoding.float(bfloat16: WeightEncoding.bfloat16Bits($0)) })
        #expect(brain.nodeWeights == plain.nodeWeights)
        #expect(half.rowScales == RowScales())
        for tensor in WeightTensor.allCases { #expect(half.int8Values(of: tensor) == nil) }
    }

    @Test func int8RowScalesAndValues() throws {
        let plain = try model()
        let q = try model(.int8Row, .int8Row)
        let (l, i, o, h, m, n) = (4, 5, 3, 4, 3, 3)
        #expect(q.rowScales.nodes.count == n)
        #expect(q.rowScales.leafHidden.count == l * h)
        #expect(q.rowScales.leafOutput.count == l * o)
        #expect(q.rowScales.masterHidden.count == m)
        #expect(q.rowScales.masterOutput.count == o)
        for tensor in WeightTensor.allCases {
            let values = try #require(q.int8Values(of: tensor))
            let weights = q.weights(of: tensor)
            let scales = q.rowScales[tensor]
            #expect(values.count == weights.count)
            let layout = RowLayout.of(tensor, input: i, output: o, depth: 2, leafWidth: h, masterWidth: m)
            #expect(layout.rows == scales.count)
            // The design's rebuild formula gives the stored q, and every value is scale * q.
            for k in weights.indices {
                let row = (k / (layout.reduced * layout.inner)) * layout.inner + k % layout.inner
                #expect(values[k] == Int8((weights[k] / scales[row]).rounded(.toNearestOrEven)))
                #expect(weights[k] == Float(Double(scales[row]) * Double(values[k])))
            }
            // Each row's largest magnitude is ±127 with these float32 weights.
            var largest = [Int8](repeating: 0, count: layout.rows)
            for k in values.indices {
                let row = (k / (layout.reduced * layout.inner)) * layout.inner + k % layout.inner
                largest[row] = max(largest[row], Int8(abs(Int(values[k]))))
            }
            #expect(largest.allSatisfy { $0 == 127 })
            // From the float32 model's weights by the writer rules.
            let encoded = try WeightEncoding.encode(plain.weights(of: tensor), as: .int8Row, layout: layout, what: "w")
            #expect(encoded.scales == scales)
            #expect(encoded.q == values)
        }
        #expect(try model(.int8Row).int8Values(of: .nodes) == nil)  // float32 nodes
        #expect(try model(.int8Row, masterWidth: 0).int8Values(of: .masterHidden) == nil)
        #expect(try model(.int8Row, masterWidth: 0).rowScales.masterOutput.isEmpty)
    }

    @Test func elementTypesBySection() throws {
        let m = try model(.int8Row, .float16)
        #expect(m.elementType(of: .nodes) == .float16)
        #expect(m.elementType(of: .leafHidden) == .int8Row)
        #expect(m.elementType(ofSection: "NODW") == .float16)
        #expect(["LFW1", "LFW2", "MSW1", "MSW2"].map { m.elementType(ofSection: $0) } == [.int8Row, .int8Row, .int8Row, .int8Row])
        #expect(["NODB", "LFB1", "LFB2", "MSB1", "MSB2"].map { m.elementType(ofSection: $0) } == Array(repeating: .float32, count: 5))
        #expect(["MODL", "PREP", "LABL", "META", "xTRA"].map { m.elementType(ofSection: $0) } == [nil, nil, nil, nil, nil])
    }

    @Test func overflowAndNonFiniteWeights() throws {
        func with(_ value: Float, _ type: ElementType) throws -> FFFModel {
            try FFFModel(inputWidth: 2, outputWidth: 1, depth: 0, leafWidth: 1, activation: .relu,
                         nodeWeights: [], nodeBiases: [], leafHiddenWeights: [1, value], leafHiddenBiases: [0],
                         leafOutputWeights: [1], leafOutputBiases: [0], weightType: type)
        }
        expectThrows(.invalidValue) { try with(65520, .float16) }
        #expect(try with(65504, .float16).leafHiddenWeights == [1, 65504])
        expectThrows(.invalidValue) { try with(.greatestFiniteMagnitude, .bfloat16) }
        // FLT_MAX as int8-row: scale float32(FLT_MAX / 127) = 2.6793887e36 rounds up, and
        // scale * 127 exceeds FLT_MAX by 1.875 * 2^103, beyond half an ulp: the float32 view is
        // infinite, the exact value scale * 127 is kept through the scale and q.
        let huge = try with(.greatestFiniteMagnitude, .int8Row)
        #expect(huge.rowScales.leafHidden == [Float(Double(Float.greatestFiniteMagnitude) / 127)])
        #expect(huge.int8Values(of: .leafHidden) == [0, 127])
        #expect(huge.leafHiddenWeights == [0, .infinity])
        let again = try FFFReader.read(bytes: FFFWriter.write(huge))
        #expect(again == huge)
        #expect(FFFWriter.write(again) == FFFWriter.write(huge))
        expectThrows(.invalidValue) { try huge.converted(weightType: .float16) }
        expectThrows(.nonFiniteParameter) { try with(.nan, .float16) }
        expectThrows(.nonFiniteParameter) { try with(.infinity, .int8Row) }
        // A row too small for a float32 scale.
        expectThrows(.invalidValue) {
            try FFFModel(inputWidth: 1, outputWidth: 1, depth: 0, leafWidth: 1, activation: .relu,
                         nodeWeights: [], nodeBiases: [], leafHiddenWeights: [.leastNonzeroMagnitude], leafHiddenBiases: [0],
                         leafOutputWeights: [1], leafOutputBiases: [0], weightType: .int8Row)
        }
    }

    @Test func converted() throws {
        let plain = try model()
        for weightType in ElementType.allCases {
            for nodeType in [nil] + ElementType.allCases.map(Optional.some) {
                let direct = Result { try model(weightType, nodeType) }
                let viaConverted = Result { try plain.converted(weightType: weightType, nodeType: nodeType) }
                switch (direct, viaConverted) {
                case (.success(let a), .success(let b)): #expect(a == b, "\(weightType) \(String(describing: nodeType))")
                case (.failure(let a), .failure(let b)): #expect((a as? FFFError)?.code == (b as? FFFError)?.code)
                default: Issue.record("\(weightType) \(String(describing: nodeType)): \(direct) vs \(viaConverted)")
                }
            }
        }
        // The same types: unchanged. Back to float32: the decoded values, no scales.
        let q = try model(.int8Row, .int8Row)
        #expect(try q.converted(weightType: .int8Row, nodeType: .int8Row) == q)
        let back = try q.converted(weightType: .float32)
        #expect(back.weightType == .float32 && back.nodeType == .float32)
        #expect(back.leafOutputWeights == q.leafOutputWeights)
        #expect(back.rowScales == RowScales())
        #expect(back.int8Values(of: .leafOutput) == nil)
        // Only the tensors whose type changes are encoded again.
        let nodesOnly = try q.converted(weightType: .int8Row, nodeType: .float32)
        #expect(nodesOnly.rowScales.leafHidden == q.rowScales.leafHidden)
        #expect(nodesOnly.int8Values(of: .leafHidden) == q.int8Values(of: .leafHidden))
        #expect(nodesOnly.nodeWeights == q.nodeWeights)
        #expect(nodesOnly.rowScales.nodes.isEmpty)
        // float16 -> bfloat16 -> ... encodes the current (decoded) values.
        let half = try model(.float16)
        let viaHalf = try half.converted(weightType: .bfloat16)
        #expect(viaHalf.leafHiddenWeights == half.leafHiddenWeights.map { WeightEncoding.float(bfloat16: WeightEncoding.bfloat16Bits($0)) })
    }
}
