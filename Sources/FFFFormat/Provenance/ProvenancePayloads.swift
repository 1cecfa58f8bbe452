/// The decoded payloads of a file that provenance hashes byte for byte as stored: `MODL` and
/// `PREP` (their reserved fields may be nonzero in a file of a newer minor version, which a
/// model does not keep), `LABL` and `CARD` (their digests are signed). Tensors are not kept
/// here: the model holds them exactly and re-encodes them.
struct ProvenancePayloads: Sendable {
    var modelHeader: [UInt8] = []
    var preprocessing: [UInt8]?
    var labels: [UInt8]?
    var card: [UInt8]?
}
