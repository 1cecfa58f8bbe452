import ArgumentParser
import FastFeedforward
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `fffrun`: the command-line tool for FFF model files. Each subcommand lives in its own file.
@main
struct FFFRun: ParsableCommand {
    /// The release of fffrun and of the Python tools (`pyfff.__version__`), which ship together.
    static let release = "1.1.0"

    static let configuration = CommandConfiguration(
        commandName: "fffrun",
        abstract: "Validate, inspect and run Fast Feedforward (FFF) model files.",
        discussion: """
            Exit status follows sysexits(3): 0 success, 64 usage error (EX_USAGE), 65 invalid \
            model file or record (EX_DATAERR), 66 file cannot be opened (EX_NOINPUT), 70 internal \
            error (EX_SOFTWARE), 74 read or write failed (EX_IOERR). When the reader of standard \
            output goes away (`fffrun classify ... | head`), fffrun stops silently, ended by \
            SIGPIPE like other filters (status 141 in the shell).

            Environment: FFF_KERNEL=portable|avx2|avx512 forces a compute kernel (default: the \
            fastest this CPU supports).

            Shell completion: fffrun --generate-completion-script bash (or zsh, fish) prints a \
            script; for bash, `source <(fffrun --generate-completion-script bash)`.

            Examples:
              fffrun validate model.fff
              fffrun info model.fff
              fffrun classify model.fff records.csv
              fffrun eval model.fff --inputs images.idx.gz --labels labels.idx.gz
              fffrun verify model.fff --key publisher.pub
            """,
        version: "fffrun \(release) (FFF format 1.2; kernel \(KernelPath.default) on this CPU)",
        subcommands: [ValidateCommand.self, InfoCommand.self, ClassifyCommand.self, EvalCommand.self, CompareCommand.self,
                      KeygenCommand.self, SignCommand.self, VerifyCommand.self]
    )

    /// Runs the command line, after the checks ArgumentParser does not make: no arguments at
    /// all, or an unknown command, is a usage error (64) with the list of commands and, for a
    /// near miss, the command meant.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandLineCheck.problem(arguments, commands: commandNames) {
            printError(problem)
            Glibc.exit(Sysexits.usage.rawValue)
        }
        main(arguments)
    }

    /// The subcommands' names, and ArgumentParser's own `help`.
    static var commandNames: [String] {
        configuration.subcommands.map { $0._commandName } + ["help"]
    }
}

/// The command-line checks made before ArgumentParser sees the arguments.
enum CommandLineCheck {
    /// A usage message when `arguments` name no command or an unknown one, else nil. Options
    /// before the command (`--help`, `--version`, `--generate-completion-script`) pass.
    static func problem(_ arguments: [String], commands: [String]) -> String? {
        let list = commands.filter { $0 != "help" }.joined(separator: ", ")
        guard let first = arguments.first else {
            return """
                fffrun: no command given. Commands: \(list).
                Usage: fffrun <command> [options], e.g. fffrun classify model.fff records.csv
                See 'fffrun --help', or 'fffrun help <command>'.
                """
        }
        if first.hasPrefix("-") || commands.contains(first) { return nil }
        var message = "fffrun: '\(first.prefix(64))' is not a command."
        if let meant = closest(to: first, among: commands) {
            message += " Did you mean '\(meant)'?"
        } else if first.hasSuffix(".fff") {
            message += " The command comes first: fffrun classify \(first.prefix(64)) [INPUT ...]"
        }
        return message + "\nCommands: \(list). See 'fffrun --help'."
    }

    /// The command within edit distance 2 of `word` (ignoring case), or one that `word` begins,
    /// if exactly one is nearest.
    static func closest(to word: String, among commands: [String]) -> String? {
        let lower = word.lowercased()
        let prefixed = commands.filter { lower.count >= 2 && $0.hasPrefix(lower) }
        if prefixed.count == 1 { return prefixed[0] }
        let scored = commands.map { (command: $0, distance: editDistance(lower, $0)) }
        guard let best = scored.map(\.distance).min(), best <= 2 else { return nil }
        let nearest = scored.filter { $0.distance == best }
        return nearest.count == 1 ? nearest[0].command : nil
    }

    /// Damerau-Levenshtein distance (optimal string alignment): insertions, deletions,
    /// substitutions and swaps of neighbours each cost 1. O(a.count * b.count).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8.prefix(64)), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var rows = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { rows[i][0] = i }
        for j in 0...b.count { rows[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, rows[i - 2][j - 2] + 1) }
                rows[i][j] = d
            }
        }
        return rows[a.count][b.count]
    }
}
