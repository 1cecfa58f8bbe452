import ArgumentParser
import FFFProvenance

/// `--verify-key PUB` for the commands that run a model (`classify`, `eval`, `compare`): the
/// model runs only if a trusted key signed exactly it (verdict good-signature); otherwise the
/// command stops with status 65 before reading any record.
struct VerifyKeyOptions: ParsableArguments {
    @Option(name: .customLong("verify-key"),
            help: ArgumentHelp("Run the model only if this public key signed it (repeatable).", valueName: "PUB"))
    var paths: [String] = []

    /// The trusted keys, read from their files (66 unreadable, 65 not an Ed25519 key).
    func trustedKeys() throws(CommandFailure) -> [PublicKey] {
        var keys: [PublicKey] = []
        for path in paths { keys.append(try ProvenanceFiles.publicKey(path)) }
        return keys
    }
}
