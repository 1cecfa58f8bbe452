import Testing
@testable import FFFRecords

@Suite struct InputBufferTests {
    @Test func fillCompactsAndGrowsOnlyWhenNeeded() throws {
        let bytes = (0..<20_000).map { UInt8($0 % 251) }
        let buffer = InputBuffer(source: MemorySource(bytes, chunking: .fixed(1000)), capacity: 4096)
        var seen: [UInt8] = []
        // Consume in 3000-byte steps: fits the 4096-byte buffer after compaction, no growth.
        while try buffer.fill(atLeast: 3000) {
            seen += UnsafeBufferPointer(start: buffer.storage + buffer.start, count: 3000)
            #expect(buffer.offset(of: buffer.start) == seen.count - 3000)
            buffer.consume(3000)
        }
        #expect(buffer.capacity == 4096)
        #expect(buffer.available == 20_000 - seen.count && buffer.atEOF)
        #expect(seen == Array(bytes.prefix(seen.count)))
        // A larger request grows the buffer to fit it.
        let big = InputBuffer(source: MemorySource(bytes, chunking: .fixed(777)), capacity: 4096)
        #expect(try big.fill(atLeast: 10_000))
        #expect(big.capacity >= 10_000 && Array(UnsafeBufferPointer(start: big.storage, count: 10_000)) == Array(bytes.prefix(10_000)))
        #expect(try !big.fill(atLeast: 30_000))
        #expect(big.available == 20_000)
    }
}
