import Foundation
import Testing

/// Runs the built `fffrun` executable, which SwiftPM places in the products directory beside
/// the test bundle. `FFFRUN_PATH` overrides the location.
enum FFFRunBinary {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Where the binary is, or why it was not found.
    static let location: Swift.Result<URL, LocationError> = {
        if let explicit = ProcessInfo.processInfo.environment["FFFRUN_PATH"] {
            return FileManager.default.isExecutableFile(atPath: explicit)
                ? .success(URL(fileURLWithPath: explicit))
                : .failure(LocationError(description: "FFFRUN_PATH=\(explicit) is not an executable"))
        }
        var candidates: [URL] = []
        let argument0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        candidates.append(argument0.deletingLastPathComponent())
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            candidates.append(executable.deletingLastPathComponent())
        }
        // On Darwin the tests run inside an .xctest bundle: Contents/MacOS/<binary>.
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in candidates {
            var url = directory
            for _ in 0..<4 {
                let binary = url.appendingPathComponent("fffrun")
                if FileManager.default.isExecutableFile(atPath: binary.path) { return .success(binary) }
                url.deleteLastPathComponent()
            }
        }
        return .failure(LocationError(description: "no fffrun executable near \(candidates.map(\.path)); build it (swift build --product fffrun) or set FFFRUN_PATH"))
    }()

    struct LocationError: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `fffrun arguments` with empty standard input, through the runner the classify tests use.
    static func run(_ arguments: [String]) throws -> Result {
        let run = try ClassifyFixtures.fffrun(arguments)
        return Result(status: run.status, stdout: run.stdout, stderr: run.stderr)
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fffrun-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
