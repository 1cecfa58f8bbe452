/// The stable error codes of spec/FORMAT.md §17. Every implementation reports the same code for
/// the same file; the raw value is the code's name as the spec spells it.
public enum FFFErrorCode: String, Sendable, CaseIterable, Hashable {
    case badMagic = "bad-magic"
    case unsupportedVersion = "unsupported-version"
    case truncated = "truncated"
    case trailingBytes = "trailing-bytes"
    case checksumMismatch = "checksum-mismatch"
    case reservedNonzero = "reserved-nonzero"
    case badLayout = "bad-layout"
    case unknownCriticalSection = "unknown-critical-section"
    case duplicateSection = "duplicate-section"
    case missingSection = "missing-section"
    case unexpectedSection = "unexpected-section"
    case unknownCodec = "unknown-codec"
    case unknownFilter = "unknown-filter"
    case decompressionFailed = "decompression-failed"
    case shapeMismatch = "shape-mismatch"
    case limitExceeded = "limit-exceeded"
    case invalidValue = "invalid-value"
    case unsupportedFeature = "unsupported-feature"
    case nonFiniteParameter = "non-finite-parameter"
    case ioError = "io-error"

    /// The number the spec gives the code (1 ... 20).
    public var number: Int {
        FFFErrorCode.allCases.firstIndex(of: self)! + 1
    }
}

/// An error reading, validating or building a model. It carries the spec's code, a message that
/// says what was expected, and where the problem is when it is in a file.
public struct FFFError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The spec's error code.
    public let code: FFFErrorCode
    /// What is wrong and what was expected, in words.
    public let message: String
    /// The four-character type of the section concerned, if any.
    public let section: String?
    /// The byte offset in the file of the offending field or structure, if known.
    public let offset: Int?

    public init(_ code: FFFErrorCode, _ message: String, section: String? = nil, offset: Int? = nil) {
        self.code = code
        self.message = message
        self.section = section
        self.offset = offset
    }

    /// `code: message (section XXXX, offset N)`: the form `fffrun validate` prints.
    public var description: String {
        var place: [String] = []
        if let section { place.append("section \(section)") }
        if let offset { place.append("offset \(offset)") }
        let suffix = place.isEmpty ? "" : " (" + place.joined(separator: ", ") + ")"
        return "\(code.rawValue): \(message)\(suffix)"
    }
}
