/// The model card of a file (spec/FORMAT.md, `CARD`, format 1.2): key/value pairs saying what
/// the model is, who made it, under which license and for what. The layout and structural rules
/// are those of `META`; the listed keys (``CardValueType/listedKeys``, and `metrics.<name>`)
/// must have values of their type. Other keys are kept in order, untyped (writers should prefix
/// private ones with `x-`).
///
/// A card that exists is valid: the initializer checks every rule.
public struct ModelCard: Sendable, Equatable {
    /// The pairs, in file order.
    public let entries: [MetadataEntry]

    /// A card of `entries`, in this order.
    ///
    /// - Precondition: none; invalid entries throw.
    /// - Throws: `FFFError` with code `invalid-value`: more than 65536 pairs, a key that is not
    ///   1 ... 256 bytes of printable ASCII, a repeated key, a value longer than 2^24 bytes, or a
    ///   listed key whose value is not of its type.
    /// - Complexity: O(total bytes of the entries).
    public init(_ entries: [MetadataEntry]) throws(FFFError) {
        guard entries.count <= FormatLimits.maxMetadataPairs else {
            throw FFFError(.invalidValue, "\(entries.count) card entries; at most \(FormatLimits.maxMetadataPairs)", section: "CARD")
        }
        var keys = Set<[UInt8]>()
        for entry in entries {
            let keyBytes = Array(entry.key.utf8)
            guard !keyBytes.isEmpty, keyBytes.count <= FormatLimits.maxMetadataKeyBytes,
                  keyBytes.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw FFFError(.invalidValue, "card key '\(entry.key)' must be 1 ... 256 bytes of printable ASCII without spaces", section: "CARD")
            }
            guard keys.insert(keyBytes).inserted else {
                throw FFFError(.invalidValue, "card key '\(entry.key)' appears twice", section: "CARD")
            }
            guard entry.value.utf8.count <= FormatLimits.maxMetadataValueBytes else {
                throw FFFError(.invalidValue, "the value of card key '\(entry.key)' exceeds \(FormatLimits.maxMetadataValueBytes) bytes", section: "CARD")
            }
            if let problem = Self.typeProblem(key: entry.key, value: entry.value) {
                throw FFFError(.invalidValue, problem, section: "CARD")
            }
        }
        self.entries = entries
    }

    /// Entries the reader has already checked.
    init(checked entries: [MetadataEntry]) {
        self.entries = entries
    }

    /// The value of `key`, if the card has it.
    public subscript(key: String) -> String? {
        entries.first(where: { $0.key == key })?.value
    }

    /// `nil` when the value suits the key (an unlisted key takes any value), else the message of
    /// the `invalid-value` error: the key, its type and what is wrong.
    static func typeProblem(key: String, value: String) -> String? {
        guard let type = CardValueType.of(key: key), let problem = type.problem(with: value) else { return nil }
        return "card key '\(key)' takes a \(type.rawValue) value; \(problem)"
    }

    /// The decoded `CARD` payload as a writer writes it: count, reserved 0, then each pair as
    /// two strings (a `u32` length and UTF-8 bytes).
    /// - Complexity: O(total bytes of the entries).
    public var payload: [UInt8] {
        var writer = ByteWriter()
        writer.u32(UInt32(entries.count))
        writer.u32(0)
        for entry in entries {
            writer.string(entry.key)
            writer.string(entry.value)
        }
        return writer.bytes
    }
}
