import Testing
@testable import FFFRecords

@Suite struct MemorySourceTests {
    func chunks(_ source: MemorySource, bufferSize: Int = 10) throws -> [Int] {
        var sizes: [Int] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { return sizes }
            sizes.append(n)
        }
    }

    @Test func chunkings() throws {
        let bytes = [UInt8](repeating: 1, count: 25)
        #expect(try chunks(MemorySource(bytes)) == [10, 10, 5])
        #expect(try chunks(MemorySource(bytes, chunking: .fixed(4))) == [4, 4, 4, 4, 4, 4, 1])
        let random = try chunks(MemorySource(bytes, chunking: .random(seed: 3, maxChunk: 6)))
        #expect(random.reduce(0, +) == 25 && random.allSatisfy { (1...6).contains($0) } && Set(random).count > 1)
        #expect(try chunks(MemorySource(bytes, chunking: .random(seed: 3, maxChunk: 6))) == random, "deterministic per seed")
        #expect(try chunks(MemorySource([])) == [])
    }
}
