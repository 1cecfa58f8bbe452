import Foundation
import Testing
@testable import FFFFormat

/// The shared conformance corpus (fixtures/conformance), which the independent Python reader
/// must agree with: each valid file reads, each invalid file fails with exactly the manifest's code.
@Suite struct ConformanceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let file: String
        let code: String?
        let description: String
        var testDescription: String { file }
    }

    /// fixtures/conformance, found from this source file (Tests/FFFFormatTests/ -> repo root).
    static let corpus: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("fixtures/conformance").path
    }()

    /// The manifest's cases, or the reason it cannot be used.
    static let manifest: Result<(valid: [Case], invalid: [Case]), ManifestError> = {
        let path = corpus + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(ManifestError(message: "no conformance manifest at \(path)"))
        }
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let valid = root["valid"] as? [[String: Any]], let invalid = root["invalid"] as? [[String: Any]] else {
            return .failure(ManifestError(message: "\(path) is not a manifest {\"valid\": [...], \"invalid\": [...]}"))
        }
        func cases(_ list: [[String: Any]], needCode: Bool) -> [Case]? {
            var result: [Case] = []
            for item in list {
                guard let file = item["file"] as? String else { return nil }
                let code = item["code"] as? String
                if needCode && code == nil { return nil }
                result.append(Case(file: file, code: code, description: item["description"] as? String ?? ""))
            }
            return result
        }
        guard let v = cases(valid, needCode: false), let i = cases(invalid, needCode: true) else {
            return .failure(ManifestError(message: "\(path) has an entry without \"file\" (or an invalid one without \"code\")"))
        }
        return .success((v, i))
    }()

    struct ManifestError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    @Test func manifestIsPresentAndLargeEnough() throws {
        let (valid, invalid) = try Self.manifest.get()
        #expect(valid.count >= 5, "the corpus lists \(valid.count) valid files; at least 5 expected")
        #expect(invalid.count >= 25, "the corpus lists \(invalid.count) invalid files; at least 25 expected")
        let codes = Set(FFFErrorCode.allCases.map(\.rawValue))
        for item in invalid {
            #expect(codes.contains(item.code ?? ""), "\(item.file): unknown code \(item.code ?? "nil")")
        }
    }

    @Test func validFilesRead() throws {
        let (valid, _) = try Self.manifest.get()
        for item in valid {
            do {
                let file = try FFFReader.readFile(contentsOf: Self.corpus + "/" + item.file)
                // A valid file re-encodes into a valid file holding the same model.
                let again = try FFFReader.read(bytes: FFFWriter.write(file.model))
                #expect(again == file.model, "\(item.file): the model changed through write and read")
            } catch {
                Issue.record("\(item.file) (\(item.description)) must be valid; got \(error)")
            }
        }
    }

    @Test func invalidFilesFailWithTheManifestCode() throws {
        let (_, invalid) = try Self.manifest.get()
        var mismatches: [String] = []
        for item in invalid {
            let path = Self.corpus + "/" + item.file
            let error = FFFValidator.validate(contentsOf: path)
            if error?.code.rawValue != item.code {
                mismatches.append("\(item.file): expected \(item.code ?? "?"), got \(error.map { "\($0)" } ?? "success") — \(item.description)")
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(invalid.count) disagree:\n\(mismatches.joined(separator: "\n"))")
    }
}
