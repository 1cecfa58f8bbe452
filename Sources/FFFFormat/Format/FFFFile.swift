/// A validated file: its layout and the model it holds.
public struct FFFFile: Sendable {
    public let layout: FFFFileLayout
    public let model: FFFModel
    /// The decoded payloads that provenance hashes as the file stores them.
    let payloads: ProvenancePayloads
}
