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
