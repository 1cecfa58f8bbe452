import FFFTestSupport
import Testing
@testable import FFFRecords

/// Damaged and random input in every format ends in records or a clear error: never a crash,
/// a hang, or an error without a message.
@Suite struct RecordReaderRobustnessTests {
    static let seeds: [[UInt8]] = [
        Encode.idx(type: 0x0D, dims: [3, 2], values: [1, 2, 3, 4, 5, 6]),
        Encode.idx(type: 0x08, dims: [2, 1, 3], values: [1, 2, 3, 4, 5, 6]),
        Encode.npy(descr: "<f4", shape: [3, 2], data: Encode.f32([1, 2, 3, 4, 5, 6])),
        Encode.npy(descr: "<i2", shape: [3, 2], data: Encode.le([Int16](repeating: 9, count: 6)), version: 2),
        utf8("a,b\n1,2\n3,4\n5,6\n"),
        utf8("1\t2\n3\t4\n"),
        gzip(utf8("1 2\n3 4\n5 6\n")),
        gzip(Encode.idx(type: 0x08, dims: [3, 2], values: [1, 2, 3, 4, 5, 6])),
    ]

    @Test(arguments: [RecordFormat.auto, .csv, .text, .f32, .u8, .idx, .npy])
    func mutatedInputs(format: RecordFormat) throws {
        var rng = SplitMix64(seed: UInt64(format.rawValue.utf8.count))
        for seed in Self.seeds {
            for _ in 0..<150 {
                var bytes = seed
                switch rng.next() % 3 {
                case 0:  // flip bytes
                    for _ in 0...(rng.next() % 3) { bytes[Int(rng.next() % UInt64(bytes.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
                case 1:  // cut
                    bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
                default:  // append noise
                    bytes += (0..<(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
                let chunking = MemorySource.Chunking.random(seed: rng.next(), maxChunk: 1 + Int(rng.next() % 64))
                let d = try drain(bytes, format, width: 2, chunking: chunking)
                if let error = d.error {
                    #expect(!error.message.isEmpty)
                    #expect(error.recordNumber.map { $0 == d.records.count + 1 } ?? true, "\(error.message)")
                }
            }
        }
    }
}
