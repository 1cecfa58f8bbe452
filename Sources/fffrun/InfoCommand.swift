import ArgumentParser
import FastFeedforward
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun info FILE`: what a model file holds and what it costs to run.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model file: sections, layer shape, parameters and inference cost.",
        discussion: """
            Validates the file first. For a valid file, prints the format version; each section \
            (type, critical or ancillary, codec, filter, stored and decoded bytes, compression \
            ratio); the layer (depth, leaves, nodes, widths, activation); parameter counts; the \
            multiply-adds per record (descent depth*I, leaf I*H + H*O, master leaf I*M + M*O) \
            beside those of a dense layer of the same total width (2^depth * H hidden units); \
            labels, preprocessing and metadata; the model's identity (SHA-256 of its \
            weights, shape and preprocessing: the same however the file is \
            compressed), its card, and the key ids of its signatures (with a \
            warning when they no longer match; `fffrun verify` checks them). \
            --json prints the same as one JSON object.

            Exit status: 0 valid, 64 usage error, 65 invalid file (the error line of \
            `fffrun validate` goes to standard error), 66 file cannot be read.

            Examples:
              fffrun info model.fff
              fffrun info --json model.fff | jq .multiply_adds
            """
    )

    @Argument(help: "The model file.")
    var file: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let loaded: FFFFile
        do {
            loaded = try FFFReader.readFile(contentsOf: file)
        } catch {
            printError(ValidateCommand.textLine(path: file, error: error))
            throw Sysexits.status(for: error)
        }
        print(json ? Self.jsonReport(path: file, loaded).serialized : Self.textReport(path: file, loaded))
    }

    // MARK: Text

    static func textReport(path: String, _ file: FFFFile) -> String {
        let layout = file.layout
        let model = file.model
        let summary = ModelSummary(model)
        var lines: [String] = []
        lines.append("file: \(path)")
        lines.append("format: version \(layout.majorVersion).\(layout.minorVersion), \(layout.fileLength) bytes, \(layout.sections.count) sections")
        lines += InfoProvenance.textLines(file, abbreviate: abbreviate)
        lines.append("sections:")
        var table = [["type", "kind", "element", "codec", "filter", "offset", "stored", "decoded", "ratio"]]
        for section in layout.sections {
            table.append([
                section.type, (section.isCritical ? "critical" : "ancillary") + (section.isKnown ? "" : " (unknown, skipped)"),
                model.elementType(ofSection: section.type)?.name ?? "-",
                section.codec.description, section.filter.description, String(section.offset),
                String(section.storedLength), String(section.decodedLength), fixed(section.compressionRatio, 2),
            ])
        }
        let stored = layout.sections.reduce(0) { $0 + $1.storedLength }
        let decoded = layout.sections.reduce(0) { $0 + $1.decodedLength }
        table.append(["total", "", "", "", "", "", String(stored), String(decoded), fixed(stored == 0 ? 1 : Double(decoded) / Double(stored), 2)])
        lines += align(table, rightAligned: [5, 6, 7, 8]).map { "  " + $0 }

        lines.append("tensor groups:")
        var groups = [["group", "sections", "element", "stored", "decoded"]]
        for group in TensorGroup.groups(of: file) {
            groups.append([group.name, group.sections.joined(separator: " "), group.elementType.name,
                           String(group.storedBytes), String(group.decodedBytes)])
        }
        lines += align(groups, rightAligned: [3, 4]).map { "  " + $0 }

        lines.append("layer: fff")
        lines.append("  depth: \(model.depth) (\(summary.leaves) leaves, \(summary.nodes) nodes)")
        lines.append("  input width: \(model.inputWidth)")
        lines.append("  leaf width: \(model.leafWidth)")
        if let master = model.masterLeaf {
            lines.append("  master width: \(master.width) (mixing logit k = \(master.mixingLogit), leaf share sigmoid(k) = \(fixed(1 / (1 + exp(-Double(master.mixingLogit))), 4)))")
        } else {
            lines.append("  master width: 0 (no master leaf)")
        }
        lines.append("  output width: \(model.outputWidth)")
        lines.append("  activation: \(model.activation.name)")

        lines.append("parameters:")
        lines.append("  nodes: \(summary.nodeParameters)")
        lines.append("  leaves: \(summary.leafParameters)")
        if model.masterLeaf != nil { lines.append("  master leaf: \(summary.masterParameters) (including k)") }
        lines.append("  total: \(summary.totalParameters)")
        lines.append("  per tensor: " + summary.tensorParameters.map { "\($0.0) \($0.1)" }.joined(separator: ", "))

        lines.append("multiply-adds per record:")
        lines.append("  descent (depth * I): \(summary.descentMultiplyAdds)")
        lines.append("  leaf (I*H + H*O): \(summary.leafMultiplyAdds)")
        if model.masterLeaf != nil { lines.append("  master leaf (I*M + M*O): \(summary.masterMultiplyAdds)") }
        lines.append("  total: \(summary.totalMultiplyAdds)")
        lines.append("  dense layer of width 2^\(model.depth) * \(model.leafWidth) = \(summary.denseWidth): \(summary.denseMultiplyAdds)")
        lines.append("  dense / FFF: \(fixed(summary.speedup, 2))x")

        if let labels = model.labels {
            lines.append("labels (\(labels.count)): " + labels.map { "\"\($0)\"" }.joined(separator: ", "))
        } else {
            lines.append("labels: none")
        }
        if let pre = model.preprocessing {
            if pre.isScalar {
                lines.append("preprocessing: x = raw * \(pre.scale[0]) + \(pre.offset[0]) (one scale and offset for all \(model.inputWidth) features)")
            } else {
                lines.append("preprocessing: x[i] = raw[i] * scale[i] + offset[i], per feature; scale in [\(pre.scale.min() ?? 0), \(pre.scale.max() ?? 0)], offset in [\(pre.offset.min() ?? 0), \(pre.offset.max() ?? 0)]")
            }
        } else {
            lines.append("preprocessing: none (x = raw)")
        }
        if model.metadata.isEmpty {
            lines.append("metadata: none")
        } else {
            lines.append("metadata (\(model.metadata.count)):")
            for entry in model.metadata {
                lines.append("  \(entry.key): \(abbreviate(entry.value))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Long or multi-line values shown in part, so one entry stays one line.
    private static func abbreviate(_ value: String) -> String {
        let flat = value.replacingAll("\n", with: "\\n")
        let limit = 120
        if flat.count <= limit { return flat }
        return String(flat.prefix(limit)) + "... (\(value.utf8.count) bytes)"
    }

    private static func align(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }

    private static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: "."), !text.contains("e") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        }
        return text
    }

    // MARK: JSON

    static func jsonReport(path: String, _ file: FFFFile) -> JSONValue {
        let layout = file.layout
        let model = file.model
        let summary = ModelSummary(model)
        let sections: [JSONValue] = layout.sections.map { section in
            var unit = 0
            if case .shuffle(let u) = section.filter { unit = u }
            return .object([
                ("type", .string(section.type)),
                ("element_type", .optional(file.model.elementType(ofSection: section.type)?.name)),
                ("critical", .bool(section.isCritical)),
                ("known", .bool(section.isKnown)),
                ("codec", .string(section.codec.description)),
                ("filter", .string(unit == 0 ? "none" : "shuffle")),
                ("filter_unit", .int(unit)),
                ("offset", .int(section.offset)),
                ("stored_bytes", .int(section.storedLength)),
                ("decoded_bytes", .int(section.decodedLength)),
                ("compression_ratio", .double(section.compressionRatio)),
            ])
        }
        let groups: [JSONValue] = TensorGroup.groups(of: file).map { group in
            .object([
                ("group", .string(group.name)),
                ("sections", .array(group.sections.map(JSONValue.string))),
                ("element_type", .string(group.elementType.name)),
                ("stored_bytes", .int(group.storedBytes)),
                ("decoded_bytes", .int(group.decodedBytes)),
            ])
        }
        var layer: [(String, JSONValue)] = [
            ("kind", .string("fff")),
            ("depth", .int(model.depth)),
            ("leaves", .int(summary.leaves)),
            ("nodes", .int(summary.nodes)),
            ("input_width", .int(model.inputWidth)),
            ("leaf_width", .int(model.leafWidth)),
            ("master_width", .int(summary.masterWidth)),
            ("output_width", .int(model.outputWidth)),
            ("activation", .string(model.activation.name)),
        ]
        layer.append(("mixing_logit", model.masterLeaf.map { JSONValue.float($0.mixingLogit) } ?? .null))
        let preprocessing: JSONValue = model.preprocessing.map { pre in
            .object([
                ("count", .int(pre.scale.count)),
                ("scale", .array(pre.scale.map(JSONValue.float))),
                ("offset", .array(pre.offset.map(JSONValue.float))),
            ])
        } ?? .null
        return .object([
            ("path", .string(path)),
            ("valid", .bool(true)),
            ("format_version", .string("\(layout.majorVersion).\(layout.minorVersion)")),
            ("file_bytes", .int(layout.fileLength)),
            ("sections", .array(sections)),
            ("tensor_groups", .array(groups)),
            ("layer", .object(layer)),
            ("parameters", .object([
                ("nodes", .int(summary.nodeParameters)),
                ("leaves", .int(summary.leafParameters)),
                ("master", .int(summary.masterParameters)),
                ("total", .int(summary.totalParameters)),
                ("tensors", .object(summary.tensorParameters.map { ($0.0, JSONValue.int($0.1)) })),
            ])),
            ("multiply_adds", .object([
                ("descent", .int(summary.descentMultiplyAdds)),
                ("leaf", .int(summary.leafMultiplyAdds)),
                ("master", .int(summary.masterMultiplyAdds)),
                ("total", .int(summary.totalMultiplyAdds)),
                ("dense_width", .int(summary.denseWidth)),
                ("dense", .int(summary.denseMultiplyAdds)),
                ("dense_to_fff_ratio", .double(summary.speedup)),
            ])),
            ("labels", model.labels.map { .array($0.map(JSONValue.string)) } ?? .null),
            ("preprocessing", preprocessing),
            ("metadata", .array(model.metadata.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })),
        ] + InfoProvenance.jsonMembers(file))
    }
}

/// The tensors of a file in the groups whose element type a file states (spec §7.2): node
/// weights, leaf weights and master weights, and the biases (always float32), with the bytes
/// each group takes stored and decoded.
struct TensorGroup {
    let name: String
    let sections: [String]
    let elementType: ElementType
    let storedBytes: Int
    let decodedBytes: Int

    /// The groups present in `file`, in file-format order.
    static func groups(of file: FFFFile) -> [TensorGroup] {
        let model = file.model
        let plan: [(String, [String], ElementType)] = [
            ("node weights", ["NODW"], model.nodeType),
            ("leaf weights", ["LFW1", "LFW2"], model.weightType),
            ("master weights", ["MSW1", "MSW2"], model.weightType),
            ("biases", ["NODB", "LFB1", "LFB2", "MSB1", "MSB2"], .float32),
        ]
        return plan.compactMap { name, types, element in
            let present = file.layout.sections.filter { types.contains($0.type) }
            guard !present.isEmpty else { return nil }
            return TensorGroup(name: name, sections: present.map(\.type), elementType: element,
                               storedBytes: present.reduce(0) { $0 + $1.storedLength },
                               decodedBytes: present.reduce(0) { $0 + $1.decodedLength })
        }
    }
}
