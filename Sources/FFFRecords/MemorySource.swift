/// Bytes held in memory, handed out in chunks of a chosen size: whole, fixed, or pseudo-random
/// (deterministic by seed). Small and random chunks exercise every buffer boundary of a reader.
public final class MemorySource: ByteSource {
    /// How much one `read` returns at most.
    public enum Chunking: Sendable, Equatable {
        /// As much as the caller's buffer holds.
        case whole
        /// At most `n` bytes per read (n >= 1).
        case fixed(Int)
        /// Between 1 and `maxChunk` bytes per read, drawn from a generator seeded with `seed`.
        case random(seed: UInt64, maxChunk: Int)
    }

    private let bytes: [UInt8]
    private let chunking: Chunking
    private var position = 0
    private var state: UInt64

    /// A source over `bytes`. Precondition: fixed and random chunk sizes are at least 1.
    public init(_ bytes: [UInt8], chunking: Chunking = .whole) {
        switch chunking {
        case .whole: state = 0
        case .fixed(let n): precondition(n >= 1, "chunk size must be at least 1"); state = 0
        case .random(let seed, let maxChunk):
            precondition(maxChunk >= 1, "chunk size must be at least 1")
            state = seed
        }
        self.bytes = bytes
        self.chunking = chunking
    }

    /// Copies the next chunk. O(chunk size).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(RecordError) -> Int {
        var n = min(buffer.count, bytes.count - position)
        switch chunking {
        case .whole: break
        case .fixed(let size): n = min(n, size)
        case .random(_, let maxChunk):
            // SplitMix64: a tiny generator with a fixed sequence per seed, so failures replay.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            n = min(n, 1 + Int(z % UInt64(maxChunk)))
        }
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
