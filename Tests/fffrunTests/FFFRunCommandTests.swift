import Foundation
import Testing
import FastFeedforward

/// End-to-end tests of the `fffrun` executable: arguments, output formats, exit statuses.
@Suite struct FFFRunCommandTests {
    /// A depth-3 model: I = 6, O = 4, H = 2, master width 5, labels and metadata.
    static func model() throws -> FFFModel {
        let (i, o, d, h, m) = (6, 4, 3, 2, 5)
        let leaves = 1 << d
        func values(_ count: Int, _ seed: Int) -> [Float] { (0..<count).map { Float(($0 * 7 + seed) % 13) / 13 - 0.5 } }
        return try FFFModel(
            inputWidth: i, outputWidth: o, depth: d, leafWidth: h, activation: .silu,
            preprocessing: Preprocessing(scale: 2.0 / 255.0, offset: -1),
            nodeWeights: values((leaves - 1) * i, 1), nodeBiases: values(leaves - 1, 2),
            leafHiddenWeights: values(leaves * i * h, 3), leafHiddenBiases: values(leaves * h, 4),
            leafOutputWeights: values(leaves * h * o, 5), leafOutputBiases: values(leaves * o, 6),
            masterLeaf: MasterLeaf(width: m, hiddenWeights: values(i * m, 7), hiddenBiases: values(m, 8),
                                   outputWeights: values(m * o, 9), outputBiases: values(o, 10), mixingLogit: 0.5),
            labels: ["north", "east", "south", "west"],
            metadata: [MetadataEntry(key: "name", value: "compass"), MetadataEntry(key: "producer", value: "fffrunTests")])
    }

    /// A valid file and a truncated copy in a fresh directory.
    private func files() throws -> (TemporaryDirectory, valid: String, invalid: String) {
        let directory = try TemporaryDirectory()
        let valid = directory.path("model.fff")
        try FFFWriter.write(try Self.model(), to: valid)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: valid))
        let invalid = directory.path("truncated.fff")
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: invalid))
        return (directory, valid, invalid)
    }

    @Test func validateValidFile() throws {
        let (directory, valid, _) = try files()
        defer { withExtendedLifetime(directory) {} }
        let result = try FFFRunBinary.run(["validate", valid])
        #expect(result.status == 0)
        #expect(result.stdout == "\(valid): OK\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func validateInvalidFile() throws {
        let (directory, valid, invalid) = try files()
        defer { withExtendedLifetime(directory) {} }
        let result = try FFFRunBinary.run(["validate", valid, invalid])
        #expect(result.status == 65)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first == "\(valid): OK")
        // PATH: code: message (offset N)
        let prefix = "\(invalid): truncated: "
        #expect(lines.last?.hasPrefix(prefix) == true, "got \(lines.last ?? "")")
        let size = try FileManager.default.attributesOfItem(atPath: invalid)[.size] as? Int
        #expect(lines.last?.hasSuffix("(offset \(size ?? -1))") == true, "got \(lines.last ?? "")")
    }

    @Test func validateQuietPrintsOnlyFailures() throws {
        let (directory, valid, invalid) = try files()
        defer { withExtendedLifetime(directory) {} }
        let quietValid = try FFFRunBinary.run(["validate", "--quiet", valid])
        #expect(quietValid.status == 0)
        #expect(quietValid.stdout.isEmpty)
        let quietMixed = try FFFRunBinary.run(["validate", "-q", valid, invalid])
        #expect(quietMixed.status == 65)
        #expect(quietMixed.stdout.split(separator: "\n").count == 1)
        #expect(quietMixed.stdout.hasPrefix("\(invalid): truncated: "))
    }

    @Test func unreadableFileIsNoInput() throws {
        let (directory, valid, invalid) = try files()
        defer { withExtendedLifetime(directory) {} }
        let missing = directory.path("missing.fff")
        let alone = try FFFRunBinary.run(["validate", missing])
        #expect(alone.status == 66)
        #expect(alone.stdout.hasPrefix("\(missing): io-error: "))
        // 66 wins over 65, whatever the order.
        #expect(try FFFRunBinary.run(["validate", missing, invalid, valid]).status == 66)
        #expect(try FFFRunBinary.run(["validate", invalid, missing]).status == 66)
        #expect(try FFFRunBinary.run(["validate", directory.url.path]).status == 66)
    }

    @Test func validateJSON() throws {
        let (directory, valid, invalid) = try files()
        defer { withExtendedLifetime(directory) {} }
        let missing = directory.path("missing.fff")
        let result = try FFFRunBinary.run(["validate", "--json", valid, invalid, missing])
        #expect(result.status == 66)
        let objects = try result.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        try #require(objects.count == 3)
        #expect(objects[0]["path"] as? String == valid)
        #expect(objects[0]["valid"] as? Bool == true)
        #expect(objects[0]["code"] is NSNull)
        #expect(objects[0]["offset"] is NSNull)
        #expect(objects[1]["valid"] as? Bool == false)
        #expect(objects[1]["code"] as? String == "truncated")
        #expect((objects[1]["message"] as? String)?.isEmpty == false)
        #expect(objects[1]["offset"] as? Int != nil)
        #expect(objects[2]["code"] as? String == "io-error")
        for object in objects {
            #expect(Set(object.keys) == ["path", "valid", "code", "message", "section", "offset"])
        }
    }

    @Test func validateReportsSectionAndOffset() throws {
        let (directory, valid, _) = try files()
        defer { withExtendedLifetime(directory) {} }
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: valid)))
        // Damage the stored bytes of the last section (META): a section checksum mismatch.
        bytes[bytes.count - 1] ^= 0x20
        let damaged = directory.path("damaged.fff")
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let result = try FFFRunBinary.run(["validate", damaged])
        #expect(result.status == 65)
        let layout = try FFFReader.readFile(contentsOf: valid).layout
        let meta = try #require(layout.section("META"))
        #expect(result.stdout.hasPrefix("\(damaged): checksum-mismatch: "))
        #expect(result.stdout.hasSuffix("(section META, offset \(meta.offset))\n"), "got \(result.stdout)")
    }

    @Test func usageErrors() throws {
        #expect(try FFFRunBinary.run(["validate"]).status == 64)
        #expect(try FFFRunBinary.run(["validate", "--no-such-flag", "x"]).status == 64)
        #expect(try FFFRunBinary.run(["info"]).status == 64)
        #expect(try FFFRunBinary.run(["frobnicate"]).status == 64)
    }

    @Test func helpDocumentsExitStatuses() throws {
        let help = try FFFRunBinary.run(["validate", "--help"])
        #expect(help.status == 0)
        for text in ["65", "66", "64", "--json", "--quiet", "Examples"] {
            #expect(help.stdout.contains(text), "validate --help lacks \(text)")
        }
        let infoHelp = try FFFRunBinary.run(["info", "--help"])
        #expect(infoHelp.stdout.contains("65"))
    }

    @Test func infoDescribesTheModel() throws {
        let (directory, valid, _) = try files()
        defer { withExtendedLifetime(directory) {} }
        let result = try FFFRunBinary.run(["info", valid])
        #expect(result.status == 0)
        let text = result.stdout
        for type in ["MODL", "PREP", "NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2", "LABL", "META"] {
            #expect(text.contains("\n  \(type) "), "info lacks section \(type)")
        }
        #expect(text.contains("format: version 1.0"))
        #expect(text.contains("depth: 3 (8 leaves, 7 nodes)"))
        #expect(text.contains("activation: silu"))
        // Multiply-adds, computed here from the shape: I=6, O=4, d=3, H=2, M=5.
        let (i, o, d, h, m) = (6, 4, 3, 2, 5)
        let fff = d * i + (i * h + h * o) + (i * m + m * o)
        let width = (1 << d) * h
        let dense = i * width + width * o
        #expect(text.contains("total: \(fff)\n"))
        #expect(text.contains("= \(width): \(dense)"))
        let parameters = (7 * i + 7) + 8 * (i * h + h + h * o + o) + (i * m + m + m * o + o + 1)
        #expect(text.contains("total: \(parameters)\n"))
        #expect(text.contains("\"north\", \"east\", \"south\", \"west\""))
        #expect(text.contains("name: compass"))
        #expect(text.contains("preprocessing: x = raw * "))
    }

    @Test func infoJSON() throws {
        let (directory, valid, _) = try files()
        defer { withExtendedLifetime(directory) {} }
        let result = try FFFRunBinary.run(["info", "--json", valid])
        #expect(result.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["format_version"] as? String == "1.0")
        let sections = try #require(root["sections"] as? [[String: Any]])
        #expect(sections.map { $0["type"] as? String } == ["MODL", "PREP", "NODW", "NODB", "LFW1", "LFB1", "LFW2", "LFB2", "MSW1", "MSB1", "MSW2", "MSB2", "LABL", "META"])
        #expect(sections.first?["decoded_bytes"] as? Int == 64)
        let layer = try #require(root["layer"] as? [String: Any])
        #expect(layer["depth"] as? Int == 3)
        #expect(layer["leaves"] as? Int == 8)
        #expect(layer["master_width"] as? Int == 5)
        let madds = try #require(root["multiply_adds"] as? [String: Any])
        #expect(madds["total"] as? Int == 3 * 6 + (6 * 2 + 2 * 4) + (6 * 5 + 5 * 4))
        #expect(madds["dense"] as? Int == 6 * 16 + 16 * 4)
        #expect(root["labels"] as? [String] == ["north", "east", "south", "west"])
        let metadata = try #require(root["metadata"] as? [[String: String]])
        #expect(metadata.first == ["key": "name", "value": "compass"])
    }

    /// Each tensor group's element type and bytes, for every type: decoded bytes follow from
    /// the shape (spec §7.2: 2 bytes per float16/bfloat16 element; int8-row 1 byte per element
    /// plus a float32 scale per row).
    @Test(arguments: [(ElementType.float16, ElementType.float32), (.bfloat16, .bfloat16), (.int8Row, .float32), (.int8Row, .int8Row)])
    func infoShowsTensorGroupTypesAndBytes(weights: ElementType, nodes: ElementType) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("compact.fff")
        try FFFWriter.write(try Self.model().converted(weightType: weights, nodeType: nodes), to: path)
        let (i, o, d, h, m) = (6, 4, 3, 2, 5)
        let (leaves, nodeCount) = (1 << d, (1 << d) - 1)
        func bytes(_ type: ElementType, count: Int, rows: Int) -> Int {
            switch type {
            case .float32: 4 * count
            case .float16, .bfloat16: 2 * count
            case .int8Row: count + 4 * rows
            }
        }
        let nodeBytes = bytes(nodes, count: nodeCount * i, rows: nodeCount)
        let leafBytes = bytes(weights, count: leaves * i * h, rows: leaves * h) + bytes(weights, count: leaves * h * o, rows: leaves * o)
        let masterBytes = bytes(weights, count: i * m, rows: m) + bytes(weights, count: m * o, rows: o)
        let result = try FFFRunBinary.run(["info", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["format_version"] as? String == "1.1")
        let groups = try #require(root["tensor_groups"] as? [[String: Any]])
        let found = Dictionary(uniqueKeysWithValues: groups.map { ($0["group"] as! String, $0) })
        #expect(found["node weights"]?["element_type"] as? String == nodes.name)
        #expect(found["node weights"]?["decoded_bytes"] as? Int == nodeBytes)
        #expect(found["leaf weights"]?["element_type"] as? String == weights.name)
        #expect(found["leaf weights"]?["decoded_bytes"] as? Int == leafBytes)
        #expect(found["master weights"]?["decoded_bytes"] as? Int == masterBytes)
        #expect(found["biases"]?["element_type"] as? String == "float32")
        let text = try FFFRunBinary.run(["info", path]).stdout
        #expect(text.contains("tensor groups:") && text.contains(weights.name), "\(text)")
    }

    @Test func infoOnInvalidFile() throws {
        let (directory, _, invalid) = try files()
        defer { withExtendedLifetime(directory) {} }
        let result = try FFFRunBinary.run(["info", invalid])
        #expect(result.status == 65)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("\(invalid): truncated: "))
        let missing = try FFFRunBinary.run(["info", directory.path("missing.fff")])
        #expect(missing.status == 66)
    }
}
