/// The SPDX license expressions a model card's `license` accepts (spec/FORMAT.md, `CARD`):
///
///     expr   := andexp ( "OR" andexp )*
///     andexp := term ( "AND" term )*
///     term   := "(" expr ")" | simple [ "WITH" id ]
///     simple := id [ "+" ]
///     id     := one or more of [A-Za-z0-9.:-], not exactly "AND", "OR" or "WITH"
///
/// Tokens are separated by one or more spaces (U+0020); parentheses need none around them; no
/// other whitespace, and no space at the start or the end. Operators are uppercase. Identifiers are not checked against the SPDX list.
enum SPDXExpression {
    private enum Token: Equatable {
        case open, close
        /// An identifier or an operator word; `plus` when a `+` follows it directly.
        case word(String, plus: Bool)
    }

    /// Why `bytes` is not an expression of the grammar, or `nil` when it is.
    /// - Complexity: O(n) for n bytes; recursion depth at most the nesting of parentheses.
    static func problem(_ bytes: [UInt8]) -> String? {
        if bytes.first == 0x20 || bytes.last == 0x20 {
            return "it starts or ends with a space; spaces only separate tokens"
        }
        var tokens: [Token] = []
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case 0x20:
                i += 1
            case 0x28:
                tokens.append(.open); i += 1
            case 0x29:
                tokens.append(.close); i += 1
            default:
                guard isIDByte(c) else {
                    return c == 0x2B ? "'+' at byte \(i) does not follow an identifier directly"
                        : "byte \(i) is \(hex(c)); an SPDX expression holds identifiers ([A-Za-z0-9.:-]), '+', parentheses and single spaces"
                }
                let start = i
                while i < bytes.count, isIDByte(bytes[i]) { i += 1 }
                var plus = false
                if i < bytes.count, bytes[i] == 0x2B {
                    plus = true
                    i += 1
                    if i < bytes.count, bytes[i] != 0x20, bytes[i] != 0x28, bytes[i] != 0x29 {
                        return "byte \(i) follows '+' without a space"
                    }
                }
                tokens.append(.word(String(decoding: bytes[start..<i - (plus ? 1 : 0)], as: UTF8.self), plus: plus))
            }
        }
        var parser = Parser(tokens: tokens)
        if let problem = parser.expression() { return problem }
        if parser.position != tokens.count { return "unexpected \(parser.describe(parser.position)) after a complete expression" }
        return nil
    }

    private static func isIDByte(_ c: UInt8) -> Bool {
        isLetter(c) || isDigit(c) || c == 0x2E || c == 0x3A || c == 0x2D
    }

    private static let operators: Set<String> = ["AND", "OR", "WITH"]

    private struct Parser {
        let tokens: [Token]
        var position = 0

        func describe(_ k: Int) -> String {
            guard k < tokens.count else { return "end" }
            switch tokens[k] {
            case .open: return "'('"
            case .close: return "')'"
            case .word(let w, let plus): return "'\(w)\(plus ? "+" : "")'"
            }
        }

        func isOperator(_ name: String) -> Bool {
            if position < tokens.count, case .word(name, plus: false) = tokens[position] { return true }
            return false
        }

        mutating func expression() -> String? {
            if let problem = andExpression() { return problem }
            while isOperator("OR") {
                position += 1
                if let problem = andExpression() { return problem }
            }
            return nil
        }

        mutating func andExpression() -> String? {
            if let problem = term() { return problem }
            while isOperator("AND") {
                position += 1
                if let problem = term() { return problem }
            }
            return nil
        }

        mutating func term() -> String? {
            guard position < tokens.count else { return "the expression ends where a license was expected" }
            switch tokens[position] {
            case .open:
                position += 1
                if let problem = expression() { return problem }
                guard position < tokens.count, tokens[position] == .close else {
                    return "'(' is not closed (found \(describe(position)))"
                }
                position += 1
                return nil
            case .close:
                return "')' where a license was expected"
            case .word(let name, _):
                if operators.contains(name) { return "operator \(name) where a license was expected" }
                position += 1
                if isOperator("WITH") {
                    position += 1
                    guard position < tokens.count, case .word(let exception, let plus) = tokens[position],
                          !operators.contains(exception), !plus else {
                        return "WITH is not followed by an exception identifier (found \(describe(position)))"
                    }
                    position += 1
                }
                return nil
            }
        }
    }
}
