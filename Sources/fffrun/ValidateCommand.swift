import ArgumentParser
import FastFeedforward

/// `fffrun validate FILE...`: checks files against spec/FORMAT.md.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check model files against the FFF format specification.",
        discussion: """
            Prints one line per file: "PATH: OK", or "PATH: CODE: MESSAGE (section S, offset N)" \
            with the specification's error code (for example checksum-mismatch) for the first \
            problem found. With --json, prints one JSON object per line instead: {"path", \
            "valid", "code", "message", "section", "offset"} (null where not applicable).

            Exit status:
              0   every file is valid
              64  usage error
              65  at least one file is invalid (EX_DATAERR)
              66  at least one file could not be opened or read (EX_NOINPUT); takes precedence over 65

            Examples:
              fffrun validate model.fff
              fffrun validate --quiet fixtures/*.fff || echo "some files are invalid"
              fffrun validate --json model.fff | jq .code
            """
    )

    @Argument(help: "The files to check.")
    var files: [String]

    @Flag(help: "Print one JSON object per file instead of text.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print only the files that fail.")
    var quiet = false

    func run() throws {
        var status = Sysexits.ok
        for path in files {
            let error = FFFValidator.validate(contentsOf: path)
            if let error {
                let fileStatus = Sysexits.status(for: error)
                if status != Sysexits.noInput { status = fileStatus }
            }
            if quiet && error == nil { continue }
            print(json ? Self.jsonLine(path: path, error: error) : Self.textLine(path: path, error: error))
        }
        if status != Sysexits.ok { throw status }
    }

    /// `PATH: OK` or `PATH: code: message (section X, offset N)`.
    static func textLine(path: String, error: FFFError?) -> String {
        guard let error else { return "\(path): OK" }
        return "\(path): \(error)"
    }

    static func jsonLine(path: String, error: FFFError?) -> String {
        JSONValue.object([
            ("path", .string(path)),
            ("valid", .bool(error == nil)),
            ("code", .optional(error?.code.rawValue)),
            ("message", .optional(error?.message)),
            ("section", .optional(error?.section)),
            ("offset", .optional(error?.offset)),
        ]).serialized
    }
}
