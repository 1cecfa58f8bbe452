import ArgumentParser

/// `fffrun`: the command-line tool for FFF model files. Each subcommand lives in its own file.
@main
struct FFFRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fffrun",
        abstract: "Validate, inspect and run Fast Feedforward (FFF) model files.",
        discussion: """
            Exit status follows sysexits(3): 0 success, 64 usage error (EX_USAGE), 65 invalid \
            model file or record (EX_DATAERR), 66 file cannot be opened (EX_NOINPUT), 70 internal \
            error (EX_SOFTWARE), 74 read or write failed, e.g. a closed pipe (EX_IOERR).

            Environment: FFF_KERNEL=portable|avx2|avx512 forces a compute kernel (default: the \
            fastest this CPU supports).

            Examples:
              fffrun validate model.fff
              fffrun info model.fff
              fffrun classify model.fff < records.csv
              fffrun eval model.fff --inputs images.idx.gz --labels labels.idx.gz
            """,
        subcommands: [ValidateCommand.self, InfoCommand.self, ClassifyCommand.self, EvalCommand.self]
    )
}
