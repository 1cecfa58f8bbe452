import FastFeedforward
import FFFProvenance

/// What `fffrun info` says about a file's provenance: its identity, card and signatures.
enum InfoProvenance {
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The lines of the text report, after the format line.
    static func textLines(_ file: FFFFile, abbreviate: (String) -> String) -> [String] {
        let digests = ProvenanceDigests(of: file)
        var lines = ["identity: \(digests.identity.hex)"]
        if let card = file.model.card {
            lines.append("card (\(card.entries.count)):")
            for entry in card.entries { lines.append("  \(entry.key): \(abbreviate(entry.value))") }
        } else {
            lines.append("card: none")
        }
        if let section = file.model.signatures {
            lines.append("signatures (\(section.signatures.count)):")
            for signature in section.signatures {
                let algorithm = signature.algorithm == SignatureSection.Signature.ed25519 ? "ed25519" : "algorithm \(signature.algorithm)"
                lines.append("  key id \(hex(signature.keyID)) (\(algorithm))")
            }
            for change in digests.changes(since: section) {
                lines.append("  warning: \(change); the signatures no longer verify")
            }
        } else {
            lines.append("signatures: none")
        }
        return lines
    }

    /// The JSON members: identity, card, signatures.
    static func jsonMembers(_ file: FFFFile) -> [(String, JSONValue)] {
        let digests = ProvenanceDigests(of: file)
        let card: JSONValue = file.model.card.map { card in
            .array(card.entries.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })
        } ?? .null
        let signatures: JSONValue = file.model.signatures.map { section in
            .object([
                ("key_ids", .array(section.signatures.map { .string(hex($0.keyID)) })),
                ("algorithms", .array(section.signatures.map { .int(Int($0.algorithm)) })),
                ("stale", .array(digests.changes(since: section).map(JSONValue.string))),
            ])
        } ?? .null
        return [("identity", .string(digests.identity.hex)), ("card", card), ("signatures", signatures)]
    }
}
