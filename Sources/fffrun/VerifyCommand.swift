import ArgumentParser
import FastFeedforward
import FFFProvenance

/// `fffrun verify MODEL --key PUB...`: checks a model file's signatures.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a model file's signatures against trusted public keys.",
        discussion: """
            Prints one verdict: good-signature (a trusted key signed exactly \
            this model, card and labels), unsigned, unknown-key (signed, but by \
            no key given) or bad-signature (the model, card or labels changed \
            since signing, or a signature does not verify), and the file's \
            identity. Keys: SubjectPublicKeyInfo PEM (fffrun keygen's KEY.pub, \
            openssl pkey -pubout) or an ssh-ed25519 line.

            Exit status:
              0   good-signature
              64  usage error
              65  unsigned, unknown-key, bad-signature, an invalid model, or a
                  key that is not an Ed25519 public key
              66  the model or a key file cannot be read

            Examples:
              fffrun verify model.fff --key release-key.pub
              fffrun verify model.fff --key alice.pub --key ~/.ssh/id_ed25519.pub
              fffrun verify --json model.fff --key release-key.pub | jq .verdict
            """
    )

    @Argument(help: "The model file.")
    var model: String

    @Option(name: .customLong("key"), help: ArgumentHelp("A trusted public key file (repeatable).", valueName: "PUB"))
    var keys: [String] = []

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if keys.isEmpty { throw ValidationError("give at least one trusted public key: --key PUB") }
    }

    func run() throws {
        do {
            var trusted: [PublicKey] = []
            var names: [String: String] = [:]
            for path in keys {
                let key = try ProvenanceFiles.publicKey(path)
                trusted.append(key)
                names[key.keyIDHex] = names[key.keyIDHex] ?? path
            }
            let file = try ProvenanceFiles.readModel(model)
            let verdict = Verifier.verify(file, trustedKeys: trusted)
            let identity = ModelIdentity(of: file).hex
            if json {
                print(Self.json(path: model, verdict: verdict, identity: identity, file: file).serialized)
            } else {
                print("\(model): \(verdict.name)")
                print("  identity: \(identity)")
                switch verdict {
                case .unsigned:
                    print("  the file has no signatures")
                case .unknownKey(let ids):
                    print("  no signature is by a trusted key; signed by:")
                    for id in ids { print("    \(id)") }
                case .badSignature(let reason):
                    print("  \(reason)")
                case .goodSignature(let ids):
                    for id in ids { print("  signed by: \(id) (\(names[id] ?? "trusted key"))") }
                }
            }
            if !verdict.isGood { throw Sysexits.dataError }
        } catch let failure as CommandFailure {
            printError("fffrun verify: \(failure.message)")
            throw failure.status
        }
    }

    static func json(path: String, verdict: Verdict, identity: String, file: FFFFile) -> JSONValue {
        var reason: String?
        var keyIDs: [String] = []
        switch verdict {
        case .unsigned: break
        case .unknownKey: break
        case .badSignature(let why): reason = why
        case .goodSignature(let ids): keyIDs = ids
        }
        let fileKeys = file.model.signatures?.signatures.map { JSONValue.object([
            ("key_id", .string(InfoProvenance.hex($0.keyID))), ("algorithm", .int(Int($0.algorithm))),
        ]) } ?? []
        return .object([
            ("path", .string(path)),
            ("verdict", .string(verdict.name)),
            ("good", .bool(verdict.isGood)),
            ("identity", .string(identity)),
            ("reason", .optional(reason)),
            ("trusted_key_ids", .array(keyIDs.map(JSONValue.string))),
            ("signatures", .array(fileKeys)),
        ])
    }
}
