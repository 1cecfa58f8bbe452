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
