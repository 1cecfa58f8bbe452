import FFFTestSupport
import Foundation
import Testing
@testable import FFFRecords

@Suite struct RecordFileTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fffrecords-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    let values: [Float] = [0.1, -0.0, .leastNonzeroMagnitude, 255, 3.4028235e38, 7]

    @Test func everyKindOfFile() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let expected = values.map(\.bitPattern)
        let files: [(String, [UInt8])] = [
            ("one-line.csv", Encode.text([values], separator: ",")),
            ("matrix.txt", utf8("# 2x3\n0.1 -0.0 1e-45\n255 3.4028235e38 7\n\n")),
            ("header.tsv", utf8("a\tb\tc\td\te\tf\n") + Encode.text([values], separator: "\t")),
            ("x.f32", Encode.f32(values)),
            ("x.f64", Encode.f64(values.map(Double.init))),
            ("vector.npy", Encode.npy(descr: "<f4", shape: [6], data: Encode.f32(values))),
            ("row.npy", Encode.npy(descr: "<f4", shape: [1, 2, 3], data: Encode.f32(values))),
            ("image.idx", Encode.idx(type: 0x0D, dims: [1, 2, 3], values: values)),
            // One record whatever the array's shape (a 28x28 image for 784 inputs).
            ("image.npy", Encode.npy(descr: "<f4", shape: [2, 3], data: Encode.f32(values))),
            ("image3.npy", Encode.npy(descr: "<f4", shape: [3, 1, 2], data: Encode.f32(values))),
            ("image-2x3.idx", Encode.idx(type: 0x0D, dims: [2, 3], values: values)),
            ("no-extension", Encode.idx(type: 0x0D, dims: [1, 6], values: values)),
            ("x.csv.gz", gzip(Encode.text([values], separator: ","))),
            ("x.npy.gz", gzip(Encode.npy(descr: "<f8", shape: [6], data: Encode.f64(values.map(Double.init))))),
        ]
        for (name, bytes) in files {
            let path = try write(name, bytes)
            #expect(try RecordFile.read(path: path, expectedWidth: 6).map(\.bitPattern) == expected, "\(name)")
        }
        let pgm = try write("digit.pgm", utf8("P5\n3 2\n255\n") + [0, 1, 2, 253, 254, 255])
        #expect(try RecordFile.read(path: pgm, expectedWidth: 6) == [0, 1, 2, 253, 254, 255])
        let p2 = try write("digit.image", utf8("P2 3 2 1000 0 1 2 997 998 999"))
        #expect(try RecordFile.read(path: p2, expectedWidth: 6) == [0, 1, 2, 997, 998, 999])
        let u8 = try write("x.u8", [9, 8, 7])
        #expect(try RecordFile.read(path: u8, expectedWidth: 3) == [9, 8, 7])
    }

    @Test func errorsNameTheFile() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func error(_ name: String, _ bytes: [UInt8], width: Int = 6) throws -> RecordError? {
            let path = try write(name, bytes)
            do { _ = try RecordFile.read(path: path, expectedWidth: width); return nil } catch { return error }
        }
        expectError(try error("short.csv", utf8("1,2,3\n4,5\n")), .wrongWidth, "short.csv': it holds 5 values; the model expects 6")
        expectError(try error("bad.txt", utf8("1 2 3\n4 five 6\n")), .notANumber, "bad.txt': line 2, column 2: 'five' is not a number")
        expectError(try error("two.npy", Encode.npy(descr: "<f4", shape: [2, 6], data: Encode.f32(values + values))),
                    .wrongWidth, "it holds 2 records; a single record is expected")
        expectError(try error("seven.npy", Encode.npy(descr: "<f4", shape: [7, 1], data: Encode.f32(values + [1]))),
                    .wrongWidth, "the NPY array holds 7 values (shape (7, 1)); one record of 6 values is expected")
        expectError(try error("seven.idx", Encode.idx(type: 0x0D, dims: [7], values: values + [1]), width: 6),
                    .wrongWidth, "the IDX array holds 7 values; one record of 6 values is expected")
        expectError(try error("x.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]), .unsupported, "this is a PNG image")
        expectError(try error("two.f32", Encode.f32(values + values)), .trailingData, "more than one record of 6 values")
        expectError(try error("short.f32", Encode.f32([1, 2])), .truncated, "record 1 is truncated: 8 of 24 bytes")
        expectError(try error("image.pgm", utf8("P5\n2 2\n255\n") + [1, 2, 3, 4]), .wrongWidth, "2x2 = 4 pixels; the model expects 6")
        expectError(try error("data.bin", [1, 2, 3]), .invalidArgument, "cannot tell its format")
        expectError(try error("empty.f32", []), .truncated, "it is empty")
        expectError(try error("huge.txt", [UInt8](repeating: 0x31, count: 6 * 64 + (1 << 20) + 1)), .trailingData, "more than")
        expectError(try error("nul.csv", utf8("1,2\u{0},3,4,5,6\n")), .nulByte, "line 1, column 2")
        expectError(#expect(throws: RecordError.self) { try RecordFile.read(path: directory + "/missing.csv", expectedWidth: 1) },
                    .io, "cannot open '\(directory)/missing.csv': No such file or directory")
        let mnistName = try write("t10k-images-idx3-ubyte", utf8("not idx"))
        expectError(#expect(throws: RecordError.self) { try RecordFile.read(path: mnistName, expectedWidth: 1) },
                    .badHeader, "t10k-images-idx3-ubyte': not an IDX stream")
        // Larger than one record, compressed and incompressible: streamed, refused at record 2.
        var rng = SplitMix64(seed: 11)
        let noise = (0..<(1 << 21)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        expectError(try error("noise.u8.gz", gzip(noise)), .trailingData, "more than one record of 6 values")
    }
}
