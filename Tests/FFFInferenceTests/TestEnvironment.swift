import Foundation

/// Paths the tests need: the repository root (from this file's location), its fixtures, and the
/// read-only shared data (`$FFF_SHARED_DIR` or `../shared` beside the repository).
enum TestEnvironment {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let fixtures: URL = repositoryRoot.appendingPathComponent("fixtures")

    static let sharedDirectory: URL = {
        if let value = ProcessInfo.processInfo.environment["FFF_SHARED_DIR"], !value.isEmpty {
            return URL(fileURLWithPath: value)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }()

    /// True when the shared MNIST data and checkpoints are present.
    static var sharedDataAvailable: Bool {
        FileManager.default.fileExists(atPath: sharedDirectory.appendingPathComponent("data/mnist/t10k-images-idx3-ubyte.gz").path)
            && FileManager.default.fileExists(atPath: sharedDirectory.appendingPathComponent("data/paper-checkpoints").path)
    }

    /// Runs a program to completion; returns its exit status, standard output and standard error.
    /// Output is collected on background threads so that a large output cannot block the child.
    static func run(_ executable: String, _ arguments: [String], currentDirectory: URL? = nil)
        throws -> (status: Int32, stdout: Data, stderr: Data)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let collected = DataCollector()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, collected.stdout, collected.stderr)
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fff-inference-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

private final class DataCollector: @unchecked Sendable {
    // @unchecked: both fields are guarded by `lock`.
    private let lock = NSLock()
    private var out = Data(), err = Data()
    func set(_ data: Data, isOut: Bool) {
        lock.lock()
        if isOut { out = data } else { err = data }
        lock.unlock()
    }
    var stdout: Data { lock.lock(); defer { lock.unlock() }; return out }
    var stderr: Data { lock.lock(); defer { lock.unlock() }; return err }
}
