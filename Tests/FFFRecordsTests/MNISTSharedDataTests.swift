import Foundation
import Testing
@testable import FFFRecords

/// The real MNIST test set from ../shared (skipped, with the reason printed, when absent).
@Suite struct MNISTSharedDataTests {
    init() {
        if SharedData.images == nil || SharedData.labels == nil { print("MNISTSharedDataTests skipped: \(SharedData.absentNote)") }
    }

    /// The file decompressed by the system's gzip, independently of GzipSource.
    func gunzip(_ path: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -dc \"$0\"", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "gzip -dc failed")
        return [UInt8](data)
    }

    @Test(.enabled(if: SharedData.images != nil, "\(SharedData.absentNote)"))
    func imagesMatchTheRawBytes() throws {
        let path = try #require(SharedData.images)
        let raw = try gunzip(path)
        #expect(raw.count == 16 + 10_000 * 784)
        let reader = try RecordReader(source: FileDescriptorSource(path: path), format: .auto, expectedWidth: 784)
        try reader.prepare()
        #expect(reader.format == .idx && reader.isCompressed && reader.declaredRecordCount == 10_000)
        let record = UnsafeMutableBufferPointer<Float>.allocate(capacity: 784)
        defer { record.deallocate() }
        var n = 0
        var mismatches = 0
        while try reader.next(into: record) {
            let base = 16 + n * 784
            for i in 0..<784 where record[i] != Float(raw[base + i]) { mismatches += 1 }
            n += 1
        }
        #expect(n == 10_000 && mismatches == 0)
        #expect(reader.bytesConsumed == raw.count)
        // The wrong width is refused with the shape in words.
        let wrong = try RecordReader(source: FileDescriptorSource(path: path), format: .idx, expectedWidth: 100)
        expectError(#expect(throws: RecordError.self) { try wrong.next() }, .wrongWidth,
                    "IDX records are 28x28 = 784 values; the model expects 100")
        // It is a data set, not one record.
        expectError(#expect(throws: RecordError.self) { try RecordFile.read(path: path, expectedWidth: 784) }, .wrongWidth,
                    "holds 10000 records")
    }

    @Test(.enabled(if: SharedData.labels != nil, "\(SharedData.absentNote)"))
    func labelsAreTheKnownDistribution() throws {
        let path = try #require(SharedData.labels)
        let reader = try RecordReader(source: FileDescriptorSource(path: path), format: .auto, expectedWidth: 1)
        var counts = [Int](repeating: 0, count: 10)
        var first: Float?
        while let label = try reader.next() {
            if first == nil { first = label[0] }
            counts[Int(label[0])] += 1
        }
        // The MNIST test set's first digit is a 7; its class sizes are published with it.
        #expect(first == 7)
        #expect(counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    }
}
