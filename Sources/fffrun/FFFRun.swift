import ArgumentParser

/// `fffrun`: the command-line tool for FFF model files. Each subcommand lives in its own file;
/// add new ones (classify, eval, ...) to `subcommands`.
@main
struct FFFRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fffrun",
        abstract: "Validate, inspect and run Fast Feedforward (FFF) model files.",
        discussion: """
            Exit status follows sysexits(3): 0 success, 64 usage error, 65 invalid model file \
            (EX_DATAERR), 66 file cannot be read (EX_NOINPUT).
            """,
        subcommands: [ValidateCommand.self, InfoCommand.self, ClassifyCommand.self, EvalCommand.self]
    )
}
