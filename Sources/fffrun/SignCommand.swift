import ArgumentParser
import FastFeedforward
import FFFProvenance

/// `fffrun sign MODEL --key KEY (-o OUT | --in-place)`: adds an Ed25519 signature.
struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign a model file with an Ed25519 private key.",
        discussion: """
            Adds a signature to the file's SIGN section (or replaces this key's \
            earlier one) over the model's identity, its card and its labels. \
            Every other section is kept byte for byte, so signing is \
            deterministic. If the file's existing signatures were made before \
            the model, card or labels changed, they are stale: sign refuses \
            unless --drop-stale removes them.

            Exit status: 0 signed, 64 usage error, 65 invalid model, stale \
            signatures or a key that is not an Ed25519 private key, 66 a file \
            cannot be read, 74 the output cannot be written.

            Examples:
              fffrun keygen -o release-key
              fffrun sign model.fff --key release-key -o model-signed.fff
              fffrun sign model.fff --key release-key --in-place
              fffrun verify model-signed.fff --key release-key.pub
            """
    )

    @Argument(help: "The model file to sign.")
    var model: String

    @Option(help: ArgumentHelp("The private key (PKCS#8 PEM).", valueName: "KEY"))
    var key: String

    @Option(name: [.customShort("o"), .customLong("out"), .customLong("output")],
            help: ArgumentHelp("Where to write the signed file.", valueName: "OUT"))
    var output: String?

    @Flag(help: "Replace MODEL with the signed file.")
    var inPlace = false

    @Flag(help: "Remove signatures that no longer match the file.")
    var dropStale = false

    func validate() throws {
        if (output == nil) == !inPlace {
            throw ValidationError("give exactly one of -o OUT and --in-place")
        }
    }

    func run() throws {
        do {
            let destination = output ?? model
            let bytes = try ProvenanceFiles.read(model, what: "model")
            let signingKey = try ProvenanceFiles.signingKey(key)
            let signed: [UInt8]
            do {
                signed = try Signer.sign(bytes, with: signingKey, dropStale: dropStale)
            } catch {
                if case .invalidFile(let problem) = error {
                    throw CommandFailure(Sysexits.status(for: problem), ValidateCommand.textLine(path: model, error: problem))
                }
                throw CommandFailure(Sysexits.dataError, "\(model): \(error)")
            }
            try ProvenanceFiles.writeAtomically(signed, to: destination)
            let file = try FFFReader.readFile(bytes: signed)
            print("signed: \(destination)")
            print("identity: \(ModelIdentity(of: file).hex)")
            print("key id: \(signingKey.publicKey.keyIDHex)")
            print("signatures: \(file.model.signatures?.signatures.count ?? 0)")
        } catch let failure as CommandFailure {
            printError("fffrun sign: \(failure.message)")
            throw failure.status
        }
    }
}
