/// Why a key cannot be used: not an Ed25519 key, or not in a supported encoding. The message
/// says what the text looks like and what to give instead.
public struct KeyError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}
