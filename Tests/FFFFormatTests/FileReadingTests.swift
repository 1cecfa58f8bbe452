import Foundation
import Testing
@testable import FFFFormat

/// Reading from a path reads only what the header allows, and reports exactly what reading the
/// same bytes from memory reports.
@Suite struct FileReadingTests {
    private func withFile<R>(_ bytes: [UInt8], _ body: (String) throws -> R) throws -> R {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fff-read-\(UUID().uuidString).fff").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test func pathAndMemoryAgree() throws {
        let valid = FFFWriter.write(try TestModels.small(), options: .init(codec: .none, shuffle: false))
        var cases: [[UInt8]] = [valid, [], Array(valid[0..<7]), Array(valid[0..<31]), Array(valid[0..<32]),
                                Array(valid[0..<100]), Array(valid.dropLast()), valid + [0], valid + [UInt8](repeating: 7, count: 5000)]
        var shortDeclared = valid
        Raw.put(UInt64(40), into: &shortDeclared, at: 16)          // declared length below the table
        Raw.put(Raw.crc(shortDeclared[0..<28]), into: &shortDeclared, at: 28)
        cases.append(shortDeclared)
        cases.append(Array(shortDeclared[0..<60]))
        var hugeDeclared = valid
        Raw.put(UInt64(1) << 62, into: &hugeDeclared, at: 16)
        Raw.put(Raw.crc(hugeDeclared[0..<28]), into: &hugeDeclared, at: 28)
        cases.append(hugeDeclared)
        var badHeader = valid + [1, 2, 3]
        badHeader[10] = 9                                            // minor version, checksum now wrong
        cases.append(badHeader)
        for bytes in cases {
            let fromMemory = FFFValidator.validate(bytes: bytes)
            let fromPath = try withFile(bytes) { FFFValidator.validate(contentsOf: $0) }
            #expect(fromPath?.code == fromMemory?.code, "\(bytes.count) bytes: path \(String(describing: fromPath)), memory \(String(describing: fromMemory))")
        }
        // The trailing count is exact for a regular file.
        let error = try withFile(valid + [UInt8](repeating: 7, count: 5000)) { FFFValidator.validate(contentsOf: $0) }
        #expect(error?.message.hasPrefix("5000 bytes follow") == true, "\(String(describing: error))")
    }

    @Test func endlessNonFFFInputIsRefusedAtOnce() throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/zero"), "this test needs /dev/zero")
        let clock = ContinuousClock()
        var error: FFFError?
        let elapsed = clock.measure { error = FFFValidator.validate(contentsOf: "/dev/zero") }
        #expect(error?.code == .badMagic)
        #expect(elapsed < .seconds(1))
    }

    @Test func fileSizeLimit() throws {
        let valid = FFFWriter.write(try TestModels.small(), options: .init(codec: .none, shuffle: false))
        try withFile(valid) { path in
            let small = FFFReader.Options(maxFileBytes: UInt64(valid.count - 1))
            #expect(FFFValidator.validate(contentsOf: path, options: small)?.code == .limitExceeded)
            #expect(FFFValidator.validate(contentsOf: path, options: .init(maxFileBytes: UInt64(valid.count))) == nil)
        }
    }

    /// A model whose largest section (2 MiB) exceeds the reader's 1 MiB workspace, so a file is
    /// read in several pieces, frames are fed to zstd in pieces and shuffled sections are
    /// unshuffled in place through the workspace: the result must equal reading from memory,
    /// which unshuffles out of place.
    @Test(arguments: [(SectionCodec.none, false), (.none, true), (.zstd, false), (.zstd, true)])
    func piecewiseFileReadingMatchesMemory(codec: SectionCodec, shuffle: Bool) throws {
        let model = try TestModels.make(depth: 6, input: 512, output: 24, leafWidth: 16, masterWidth: 8,
                                        preprocessing: .perFeature, labels: true, seed: 11)
        let bytes = FFFWriter.write(model, options: .init(codec: codec, level: 1, shuffle: shuffle))
        let largest = 64 * 512 * 16 * 4
        #expect(largest > FFFReader.Options().workspaceLimit)
        let fromPath = try withFile(bytes) { try FFFReader.readFile(contentsOf: $0) }
        let fromMemory = try FFFReader.readFile(bytes: bytes)
        #expect(fromPath.model == model)
        #expect(fromPath.layout == fromMemory.layout)
        // Tiny pieces: every frame is fed in hundreds of pieces, every unshuffle recurses deeply.
        var tiny = FFFReader.Options()
        tiny.workspaceLimit = 333
        #expect(try withFile(bytes) { try FFFReader.read(contentsOf: $0, options: tiny) } == model)
        #expect(try FFFReader.read(bytes: bytes, options: tiny) == model)
    }

    /// The same for compact weights (1.1): float16 sections of 1 MiB shuffled with unit 2 and
    /// widened in place, int8-row sections of 0.5 MiB plus their scales, read in pieces.
    @Test(arguments: [(ElementType.float16, ElementType.float16), (.bfloat16, .float32), (.int8Row, .int8Row)],
          [(SectionCodec.none, false), (.none, true), (.zstd, true)])
    func piecewiseCompactFileReadingMatchesMemory(types: (ElementType, ElementType), storage: (SectionCodec, Bool)) throws {
        let model = try TestModels.make(depth: 6, input: 512, output: 24, leafWidth: 16, masterWidth: 8,
                                        preprocessing: .perFeature, labels: true, seed: 11,
                                        weightType: types.0, nodeType: types.1)
        let bytes = FFFWriter.write(model, options: .init(codec: storage.0, level: 1, shuffle: storage.1))
        let fromPath = try withFile(bytes) { try FFFReader.readFile(contentsOf: $0) }
        let fromMemory = try FFFReader.readFile(bytes: bytes)
        #expect(fromPath.model == model)
        #expect(fromMemory.model == model)
        #expect(fromPath.layout == fromMemory.layout)
        #expect(try #require(fromPath.layout.section("LFW1")).decodedLength > FFFReader.Options().workspaceLimit / 2)
        var tiny = FFFReader.Options()
        tiny.workspaceLimit = 333
        #expect(try withFile(bytes) { try FFFReader.read(contentsOf: $0, options: tiny) } == model)
        #expect(try FFFReader.read(bytes: bytes, options: tiny) == model)
    }

    /// Reading from a path and from memory give the same verdict on damaged files too: a sample
    /// of single-byte corruptions of a compressed, shuffled file (every part: header, table,
    /// frames, padding).
    @Test(arguments: [ElementType.float32, .float16, .int8Row])
    func pathAndMemoryAgreeOnCorruptions(type: ElementType) throws {
        let model = try TestModels.make(depth: 3, input: 40, output: 5, leafWidth: 4, masterWidth: 3,
                                        preprocessing: .scalar, labels: true, seed: 5, weightType: type)
        let valid = FFFWriter.write(model, options: .init(codec: .zstd, shuffle: true))
        var checked = 0
        for position in stride(from: 0, to: valid.count, by: max(1, valid.count / 150)) {
            for rechecksum in [false, true] {
                var bytes = valid
                bytes[position] ^= 0x5A
                if rechecksum { Raw.rechecksum(&bytes) }
                var options = FFFReader.Options()
                options.workspaceLimit = 1 + position % 61  // sections in many pieces
                let fromMemory = FFFValidator.validate(bytes: bytes)
                let fromPath = try withFile(bytes) { FFFValidator.validate(contentsOf: $0, options: options) }
                #expect(fromPath == fromMemory, "byte \(position)\(rechecksum ? ", checksums recomputed" : "")")
                checked += 1
            }
        }
        #expect(checked >= 300)
    }

    /// A file is checked (checksums) before it is decoded, in two reads. If it changes in
    /// between, decoding must not hand out bytes no checksum vouched for: `io-error`, for a
    /// plain section and for a compressed one whose new bytes are no longer a valid frame.
    @Test(arguments: [SectionCodec.none, .zstd], [ElementType.float32, .bfloat16, .int8Row])
    func fileChangingWhileReadIsAnIOError(codec: SectionCodec, type: ElementType) throws {
        let model = try TestModels.make(depth: 2, input: 64, output: 3, leafWidth: 4, seed: 9, weightType: type)
        let bytes = FFFWriter.write(model, options: .init(codec: codec, shuffle: true))
        let layout = try FFFReader.readFile(bytes: bytes).layout
        let lfw1 = try #require(layout.section("LFW1"))
        try withFile(bytes) { path in
            let file = try FileIO.InputFile(path)
            var parser = try FileParser(file: file, length: bytes.count, options: .init())
            _ = try parser.parseLayout()
            // Another process rewrites part of LFW1's stored bytes.
            let writer = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try writer.seek(toOffset: UInt64(lfw1.offset + lfw1.storedLength / 2))
            try writer.write(contentsOf: [UInt8](repeating: 0xFF, count: 16))
            try writer.close()
            do throws(FFFError) {
                _ = try parser.parseModel()
                Issue.record("a section changed after its checksum was verified was decoded")
            } catch {
                #expect(error.code == .ioError, "\(error)")
                #expect(error.message.contains("changed while it was being read"), "\(error.message)")
                #expect(error.section == "LFW1")
            }
        }
    }
}
