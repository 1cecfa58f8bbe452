/// What `fffrun eval` measured: the confusion matrix (from which accuracy and per-class
/// accuracy follow) and the leaf usage, with its text and JSON renderings.
struct EvalReport {
    /// `confusion[t][p]`: records of true class `t` predicted as `p`.
    private(set) var confusion: [[Int]]
    /// Records per leaf.
    private(set) var leafUsage: LeafUsage
    /// The model's labels, if any.
    let labels: [String]?

    /// An empty report for `classes` classes and `leaves` leaves.
    init(classes: Int, leaves: Int, labels: [String]?) {
        confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        leafUsage = LeafUsage(leafCount: leaves)
        self.labels = labels
    }

    /// Counts one record of true class `truth` predicted as `predicted`. O(1).
    mutating func add(truth: Int, predicted: Int) {
        confusion[truth][predicted] += 1
    }

    /// Counts the leaves of a block of records.
    mutating func addLeaves(_ leaves: UnsafeBufferPointer<Int32>) {
        leafUsage.add(leaves)
    }

    /// `O`.
    var classes: Int { confusion.count }
    /// Records counted.
    var total: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Records predicted right: the diagonal.
    var correct: Int { (0..<classes).reduce(0) { $0 + confusion[$1][$1] } }
    /// Records of true class `c`.
    func total(ofClass c: Int) -> Int { confusion[c].reduce(0, +) }

    // MARK: Text

    /// The report as lines of text, accuracy first: `accuracy: 94.73% (9473 of 10000)`.
    var text: String {
        var lines: [String] = []
        lines.append("accuracy: \(NumberText.percent(correct, total)) (\(correct) of \(total))")

        lines.append("per-class accuracy:")
        var rows: [[String]] = [labels == nil ? ["class", "correct", "total", "accuracy"]
                                              : ["class", "label", "correct", "total", "accuracy"]]
        for c in 0..<classes {
            var row = [String(c)]
            if let labels { row.append(Self.printable(labels[c])) }
            row += [String(confusion[c][c]), String(total(ofClass: c)), NumberText.percent(confusion[c][c], total(ofClass: c))]
            rows.append(row)
        }
        let numeric = labels == nil ? Set([1, 2, 3]) : Set([2, 3, 4])
        lines += Self.align(rows, rightAligned: numeric).map { "  " + $0 }

        lines.append("confusion matrix (rows: true class, columns: predicted class):")
        var matrix: [[String]] = [["true\\pred"] + (0..<classes).map(String.init)]
        for t in 0..<classes { matrix.append([String(t)] + confusion[t].map(String.init)) }
        lines += Self.align(matrix, rightAligned: Set(1...classes)).map { "  " + $0 }

        lines.append("leaf usage (\(leafUsage.leafCount) leaves, \(leafUsage.total) records):")
        var leafRows = [["leaf", "records", "fraction"]]
        let fractions = leafUsage.fractions
        for j in 0..<leafUsage.leafCount {
            leafRows.append([String(j), String(leafUsage.counts[j]), NumberText.fixed(fractions[j], 4)])
        }
        lines += Self.align(leafRows, rightAligned: [1, 2]).map { "  " + $0 }
        let entropy = leafUsage.normalizedEntropy.map { NumberText.fixed($0, 4) } ?? "n/a"
        lines.append("normalised entropy: \(entropy) (1 = perfectly balanced)")
        lines.append("unused leaves: \(leafUsage.unusedLeaves) of \(leafUsage.leafCount)")
        return lines.joined(separator: "\n")
    }

    /// A label with control characters escaped, so that the table stays one line per class.
    private static func printable(_ label: String) -> String {
        String(decoding: OutputFormatter.escapedForText(label), as: UTF8.self)
    }

    /// Columns padded to their widest cell (in characters), two spaces apart.
    private static func align(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                if column > 0 { line += "  " }
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                line += rightAligned.contains(column) ? pad + cell : cell + pad
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }

    // MARK: JSON

    /// The report as one JSON object: `records`, `correct`, `accuracy` (a fraction, null with no
    /// records), `classes` (per class: `index`, `label`, `total`, `correct`, `accuracy`),
    /// `confusion` (rows: true class), and `leaves` (`count`, `records`, `fractions`,
    /// `normalized_entropy`, `unused`). `extra` members come first.
    func json(extra: [(String, JSONValue)]) -> JSONValue {
        func ratio(_ n: Int, _ d: Int) -> JSONValue { d == 0 ? .null : .double(Double(n) / Double(d)) }
        let perClass: [JSONValue] = (0..<classes).map { c in
            .object([
                ("index", .int(c)),
                ("label", .optional(labels?[c])),
                ("total", .int(total(ofClass: c))),
                ("correct", .int(confusion[c][c])),
                ("accuracy", ratio(confusion[c][c], total(ofClass: c))),
            ])
        }
        let leaves: JSONValue = .object([
            ("count", .int(leafUsage.leafCount)),
            ("records", .array(leafUsage.counts.map { .int($0) })),
            ("fractions", .array(leafUsage.fractions.map { .double($0) })),
            ("normalized_entropy", leafUsage.normalizedEntropy.map { .double($0) } ?? .null),
            ("unused", .int(leafUsage.unusedLeaves)),
        ])
        return .object(extra + [
            ("records", .int(total)),
            ("correct", .int(correct)),
            ("accuracy", ratio(correct, total)),
            ("classes", .array(perClass)),
            ("confusion", .array(confusion.map { .array($0.map { .int($0) }) })),
            ("leaves", leaves),
        ])
    }
}
