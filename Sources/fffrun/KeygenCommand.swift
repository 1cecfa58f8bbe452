import ArgumentParser
import FFFProvenance
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun keygen -o KEY`: a new Ed25519 key pair for signing model files.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing model files.",
        discussion: """
            Writes the private key to KEY (PKCS#8 PEM, readable by you only) and \
            its public key to KEY.pub (SubjectPublicKeyInfo PEM), and prints the \
            key id (SHA-256 of the raw public key) that signatures carry. Keep KEY \
            secret; publish KEY.pub. Keys from `openssl genpkey -algorithm \
            ed25519` work the same way.

            Exit status: 0 written, 64 usage error, 73 KEY or KEY.pub exists \
            (add --force to replace them), 74 cannot write.

            Examples:
              fffrun keygen -o release-key
              fffrun sign model.fff --key release-key --in-place
              fffrun verify model.fff --key release-key.pub
            """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("The private key's file; the public key goes to <output>.pub.", valueName: "KEY"))
    var output: String

    @Flag(help: "Replace existing key files.")
    var force = false

    @Option(help: "Also write <output>.ssh.pub, an OpenSSH ssh-ed25519 line with this comment.")
    var sshComment: String?

    func run() throws {
        do throws(CommandFailure) {
            let targets = [output, output + ".pub"] + (sshComment == nil ? [] : [output + ".ssh.pub"])
            if !force, let existing = targets.first(where: { access($0, F_OK) == 0 }) {
                throw CommandFailure(ExitCode(73), "\(existing) exists; choose another name or add --force to replace it")
            }
            let key = SigningKey.generate()
            let publicKey = key.publicKey
            try ProvenanceFiles.create(output + ".pub", Array(publicKey.pemRepresentation.utf8) + [0x0A], mode: 0o644, replace: force)
            try ProvenanceFiles.create(output, Array(key.pemRepresentation.utf8) + [0x0A], mode: 0o600, replace: force)
            if let sshComment {
                try ProvenanceFiles.create(output + ".ssh.pub", Array(publicKey.openSSHRepresentation(comment: sshComment).utf8) + [0x0A], mode: 0o644, replace: force)
            }
            print("private key: \(output) (keep it secret)")
            print("public key: \(output).pub" + (sshComment == nil ? "" : ", \(output).ssh.pub"))
            print("key id: \(publicKey.keyIDHex)")
        } catch {
            printError("fffrun keygen: \(error.message)")
            throw error.status
        }
    }
}
