/// What `fffrun eval` measured: the confusion matrix (from which accuracy and per-class
/// accuracy follow) and the leaf usage, with its text and JSON renderings.
struct EvalReport {
    /// `O`.
    let classes: Int
    /// Row-major `O * O` counts: `counts[t * O + p]`, records of true class `t` predicted as `p`.
    private var counts: [Int]
    /// Records per leaf.
    private(set) var leafUsage: LeafUsage
    /// The model's labels, if any.
    let labels: [String]?

    /// An empty report for `classes` classes and `leaves` leaves.
    init(classes: Int, leaves: Int, labels: [String]?) {
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
        leafUsage = LeafUsage(leafCount: leaves)
        self.labels = labels
    }

    /// Counts records of true classes `truths[i]` predicted as `predicted[i]` (both in
    /// `0 ..< O`, the same count). O(count), with one check of the storage for all of them.
    mutating func add(truths: UnsafePointer<Int32>, predicted: UnsafePointer<Int32>, count: Int) {
        let classes = self.classes
        counts.withUnsafeMutableBufferPointer { c in
            for i in 0..<count { c[Int(truths[i]) &* classes &+ Int(predicted[i])] &+= 1 }
        }
    }

    /// Records of true class `truth` predicted as `predicted`.
    func count(truth: Int, predicted: Int) -> Int { counts[truth * classes + predicted] }
    /// The confusion matrix's row of true class `truth`.
    func row(_ truth: Int) -> ArraySlice<Int> { counts[truth * classes ..< (truth + 1) * classes] }

    /// Counts the leaves of a block of records.
    mutating func addLeaves(_ leaves: UnsafeBufferPointer<Int32>) {
        leafUsage.add(leaves)
    }

    /// Records counted.
    var total: Int { counts.reduce(0, +) }
    /// Records predicted right: the diagonal.
    var correct: Int { (0..<classes).reduce(0) { $0 + count(truth: $1, predicted: $1) } }
    /// Records of true class `c`.
    func total(ofClass c: Int) -> Int { row(c).reduce(0, +) }

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
            row += [String(count(truth: c, predicted: c)), String(total(ofClass: c)), NumberText.percent(count(truth: c, predicted: c), total(ofClass: c))]
            rows.append(row)
        }
        let numeric = labels == nil ? Set([1, 2, 3]) : Set([2, 3, 4])
        lines += Self.align(rows, rightAligned: numeric).map { "  " + $0 }

        lines.append("confusion matrix (rows: true class, columns: predicted class):")
        var matrix: [[String]] = [["true\\pred"] + (0..<classes).map(String.init)]
        for t in 0..<classes { matrix.append([String(t)] + row(t).map(String.init)) }
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
                ("correct", .int(count(truth: c, predicted: c))),
                ("accuracy", ratio(count(truth: c, predicted: c), total(ofClass: c))),
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
            ("confusion", .array((0..<classes).map { t in .array(row(t).map { .int($0) }) })),
            ("leaves", leaves),
        ])
    }
}
