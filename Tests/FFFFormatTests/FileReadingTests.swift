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
}
