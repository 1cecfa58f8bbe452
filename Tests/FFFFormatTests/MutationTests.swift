import Testing
@testable import FFFFormat

/// Damage of every kind a storage or transfer can do to a valid file is detected (spec §5).
@Suite struct MutationTests {
    /// A storage mode and the element types of the model (1.1's compact types too).
    struct Variant: Sendable {
        let options: FFFWriter.Options
        var weightType: ElementType = .float32
        var nodeType: ElementType? = nil

        /// The small test model in these types, written with these options.
        func bytes() throws -> [UInt8] {
            FFFWriter.write(try TestModels.small().converted(weightType: weightType, nodeType: nodeType), options: options)
        }
    }

    static let variants: [Variant] = [
        Variant(options: .init(codec: .none, shuffle: false)),
        Variant(options: .init(codec: .zstd, level: 19, shuffle: true)),
        Variant(options: .init(codec: .none, shuffle: true), weightType: .float16),
        Variant(options: .init(codec: .none, shuffle: false), weightType: .int8Row, nodeType: .bfloat16),
        Variant(options: .init(codec: .zstd, level: 19, shuffle: true), weightType: .int8Row, nodeType: .int8Row),
        Variant(options: .init(codec: .zstd, level: 3, shuffle: true), weightType: .bfloat16),
    ]

    private func file(_ variant: Variant) throws -> [UInt8] {
        let bytes = try variant.bytes()
        try #require(readError(bytes) == nil)
        return bytes
    }

    private func file(_ options: FFFWriter.Options) throws -> [UInt8] {
        try file(Variant(options: options))
    }

    /// Every bit of the file, flipped alone, makes it invalid.
    @Test(arguments: variants.indices)
    func everySingleBitFlipIsRejected(variant: Int) throws {
        var bytes = try file(Self.variants[variant])
        try #require(bytes.count >= 250 && bytes.count <= 4096, "a file of \(bytes.count) bytes: the test wants all bits of a small file")
        var accepted: [Int] = []
        var codes: [FFFErrorCode: Int] = [:]
        for bit in 0 ..< bytes.count * 8 {
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            if let error = readError(bytes) {
                codes[error.code, default: 0] += 1
            } else {
                accepted.append(bit)
            }
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
        }
        #expect(accepted.isEmpty, "flips accepted at bits \(accepted.prefix(20))")
        // Most flips land in checksummed bytes; the rest in padding or the trailer's reserved field.
        #expect((codes[.checksumMismatch] ?? 0) > bytes.count * 8 * 9 / 10)
    }

    /// Every proper prefix is `truncated`: the magic and header are intact, the length is not.
    @Test(arguments: variants.indices)
    func everyTruncationIsRejected(variant: Int) throws {
        let bytes = try file(Self.variants[variant])
        for length in 0 ..< bytes.count {
            let error = readError(Array(bytes[0..<length]))
            #expect(error?.code == .truncated, "prefix of \(length) bytes: \(error.map { "\($0)" } ?? "accepted")")
        }
    }

    @Test(arguments: variants.indices)
    func appendedBytesAreRejected(variant: Int) throws {
        let bytes = try file(Self.variants[variant])
        for extra in [[0], [0xFF], [UInt8](repeating: 0, count: 8), Array("trailing".utf8)] as [[UInt8]] {
            let error = readError(bytes + extra)
            #expect(error?.code == .trailingBytes)
            #expect(error?.offset == bytes.count)
        }
    }

    /// Flips in the padding before a section are caught by the zero rule, not a checksum.
    @Test(arguments: [ElementType.float32, .float16, .int8Row])
    func paddingFlipsAreReservedNonzero(type: ElementType) throws {
        let bytes = try file(Variant(options: .init(codec: .none, shuffle: false), weightType: type))
        let layout = try bytes.withUnsafeBytes { try FFFReader.layout(of: $0) }
        var checked = 0
        for (previous, next) in zip(layout.sections, layout.sections.dropFirst()) {
            for position in previous.offset + previous.storedLength ..< next.offset {
                var damaged = bytes
                damaged[position] = 0x01
                let error = readError(damaged)
                #expect(error?.code == .reservedNonzero)
                #expect(error?.offset == position)
                checked += 1
            }
        }
        #expect(checked > 0, "the test model must have padding somewhere")
    }
}

/// With every checksum recomputed after the flip, the structure and payload checks alone must
/// cope: no trap, no hang, and every refusal carries a spec code (never io-error).
@Suite struct ChecksumBypassTests {
    @Test(arguments: MutationTests.variants.indices)
    func everyBitFlipWithRecomputedChecksumsIsHandled(variant: Int) throws {
        let original = try MutationTests.variants[variant].bytes()
        var accepted = 0, rejected = 0
        for bit in 0 ..< original.count * 8 {
            var bytes = original
            bytes[bit / 8] ^= 1 << UInt8(bit % 8)
            Raw.rechecksum(&bytes)
            if let error = readError(bytes) {
                #expect(error.code != .ioError)
                rejected += 1
            } else {
                accepted += 1
            }
        }
        // Flips in float mantissas give other valid models; everything structural is refused.
        #expect(rejected > 0 && accepted + rejected == original.count * 8)
    }
}
