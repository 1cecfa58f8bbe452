import Foundation
import Testing
@testable import FFFRecords

@Suite struct FileDescriptorSourceTests {
    func temporaryFile(_ bytes: [UInt8], name: String = "records") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fffrecords-\(UUID().uuidString)-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsAFile() throws {
        let path = try temporaryFile(gzip(utf8("1,2\n3,4\n")))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reader = try RecordReader(source: FileDescriptorSource(path: path), format: .auto, expectedWidth: 2)
        #expect(try reader.next() == [1, 2])
        #expect(try reader.next() == [3, 4])
        #expect(try reader.next() == nil)
    }

    @Test func readsAPipeAsRecordsArrive() throws {
        let pipe = Pipe()
        let source = FileDescriptorSource(fileDescriptor: pipe.fileHandleForReading.fileDescriptor)
        let reader = try RecordReader(source: source, format: .csv, expectedWidth: 2)
        pipe.fileHandleForWriting.write(Data(utf8("1,2\n")))
        #expect(try reader.next() == [1, 2], "the first record is served before the writer closes")
        pipe.fileHandleForWriting.write(Data(utf8("3,4")))
        try pipe.fileHandleForWriting.close()
        #expect(try reader.next() == [3, 4])
        #expect(try reader.next() == nil)
    }

    @Test func missingFileIsAnIOError() {
        expectError(#expect(throws: RecordError.self) { try FileDescriptorSource(path: "/nonexistent/x.csv") },
                    .io, "cannot open '/nonexistent/x.csv': No such file or directory")
    }

    @Test func readErrorIsAnIOError() throws {
        // Reading a directory fails with EISDIR.
        let source = try FileDescriptorSource(path: "/")
        let reader = try RecordReader(source: source, format: .csv, expectedWidth: 1)
        expectError(#expect(throws: RecordError.self) { try reader.next() }, .io, "cannot read '/' at byte 0: Is a directory")
    }
}
