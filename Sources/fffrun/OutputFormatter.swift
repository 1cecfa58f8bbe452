import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `fffrun classify` prints for each record.
enum OutputMode: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// The predicted class's label.
    case label
    /// The predicted class's index, 0 ..< O.
    case index
    /// The raw outputs.
    case scores
    /// The softmax of the outputs.
    case probs
    /// One JSON object.
    case json
}

/// Formats one record's result as one line of `fffrun classify` output into a ``ByteBuffer``.
///
/// Text lines are tab-separated fields:
/// - `label`, `index`: the best class, or the best `K` classes (best first) with `--top-k K`;
/// - `scores`, `probs`: all `O` values in output order, or with `--top-k K` the best `K` as
///   `CLASS:VALUE` (CLASS the label if the model has labels, else the index; split at the last
///   colon);
/// - then the leaf index when asked for (`--leaf`).
///
/// `json` lines are objects `{"index", "label" (null without labels), "score" (the raw output),
/// "prob" (its softmax), "leaf"}`, with `"top": [{"index", "label", "score", "prob"}, ...]`
/// (best first) when `--top-k` is given, and `"path"` first in `--files` mode.
///
/// Ranking: the greatest output first, a NaN above every number, equal values by smaller index,
/// so the first class is always ``Classification``'s argmax (spec §14.2). Numbers are printed
/// in the shortest form that reads back as the same `Float`; non-finite numbers as `nan`, `inf`,
/// `-inf` in text and `null` in JSON. Control characters in labels are escaped in text lines
/// (`\t`, `\n`, `\r`, `\xHH`) so that one record stays one line.
///
/// One formatter per thread: it keeps scratch memory (allocated in `init`) and allocates
/// nothing per record. Probabilities are computed in Double with the maximum subtracted first.
final class OutputFormatter {
    /// The output mode.
    let mode: OutputMode
    /// The number of classes ranked (`--top-k`), or nil when not asked for.
    let topK: Int?
    /// Whether the leaf index ends each text line.
    let appendsLeaf: Bool
    /// `O`.
    let outputWidth: Int
    private let textLabels: [[UInt8]]?
    /// The escaped labels end to end, label `o` at `labelOffsets[o] ..< labelOffsets[o + 1]`.
    private let labelBytes: UnsafeRawBufferPointer?
    private let labelOffsets: [Int]
    private let labels: [String]?
    private let ranked: UnsafeMutablePointer<Int>
    private let rankedCount: Int
    private let probabilities: UnsafeMutablePointer<Double>

    /// A formatter for a model with `outputWidth` outputs and the given labels.
    /// Precondition: `1 <= topK <= outputWidth` when given; `mode != .label` or labels exist.
    init(mode: OutputMode, topK: Int?, appendsLeaf: Bool, outputWidth: Int, labels: [String]?) {
        precondition(topK.map { (1...outputWidth).contains($0) } ?? true, "top-k out of range")
        precondition(mode != .label || labels != nil, "label output needs labels")
        self.mode = mode
        self.topK = topK
        self.appendsLeaf = appendsLeaf
        self.outputWidth = outputWidth
        self.labels = labels
        textLabels = labels?.map(Self.escapedForText)
        if let textLabels {
            // One block of every label's bytes: appending one takes no array retain.
            let flat = textLabels.flatMap { $0 }
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, flat.count), alignment: 1)
            bytes.copyBytes(from: flat)
            labelBytes = UnsafeRawBufferPointer(bytes)
            var offsets = [0]
            for label in textLabels { offsets.append(offsets.last! + label.count) }
            labelOffsets = offsets
        } else {
            labelBytes = nil
            labelOffsets = []
        }
        rankedCount = topK ?? 1
        ranked = .allocate(capacity: rankedCount)
        ranked.initialize(repeating: 0, count: rankedCount)
        probabilities = .allocate(capacity: outputWidth)
        probabilities.initialize(repeating: 0, count: outputWidth)
    }

    deinit {
        labelBytes?.deallocate()
        ranked.deallocate()
        probabilities.deallocate()
    }

    /// Appends the line for one record (newline included): its outputs, its leaf, and in
    /// `--files` mode the path it came from.
    func append(outputs: UnsafePointer<Float>, leaf: Int, path: String? = nil, to out: ByteBuffer) {
        rank(outputs)
        if mode == .json {
            appendJSON(outputs: outputs, leaf: leaf, path: path, to: out)
            return
        }
        if let path {
            var text = path
            text.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
            out.append(0x09)
        }
        switch mode {
        case .label, .index:
            for r in 0..<rankedCount {
                if r > 0 { out.append(0x09) }
                appendClass(ranked[r], to: out)
            }
        case .scores, .probs:
            if mode == .probs { softmax(outputs) }
            if topK == nil {
                for o in 0..<outputWidth {
                    if o > 0 { out.append(0x09) }
                    out.appendFloat(value(o, outputs))
                }
            } else {
                for r in 0..<rankedCount {
                    if r > 0 { out.append(0x09) }
                    let o = ranked[r]
                    if let textLabels { out.append(textLabels[o]) } else { out.appendDecimal(o) }
                    out.append(UInt8(ascii: ":"))
                    out.appendFloat(value(o, outputs))
                }
            }
        case .json:
            preconditionFailure("handled above")
        }
        if appendsLeaf {
            out.append(0x09)
            out.appendDecimal(leaf)
        }
        out.append(0x0A)
    }

    /// The label (text mode) or index of class `o`.
    private func appendClass(_ o: Int, to out: ByteBuffer) {
        if mode == .label, let labelBytes {
            out.append(UnsafeRawBufferPointer(rebasing: labelBytes[labelOffsets[o] ..< labelOffsets[o + 1]]))
        } else {
            out.appendDecimal(o)
        }
    }

    /// Output `o` as printed: the raw score, or its probability after ``softmax(_:)``.
    @inline(__always) private func value(_ o: Int, _ outputs: UnsafePointer<Float>) -> Float {
        mode == .probs ? Float(probabilities[o]) : outputs[o]
    }

    private func appendJSON(outputs: UnsafePointer<Float>, leaf: Int, path: String?, to out: ByteBuffer) {
        softmax(outputs)
        out.append("{")
        if let path {
            out.append("\"path\":")
            out.appendJSONString(path)
            out.append(",")
        }
        appendJSONClass(ranked[0], outputs: outputs, to: out)
        out.append(",\"leaf\":")
        out.appendDecimal(leaf)
        if topK != nil {
            out.append(",\"top\":[")
            for r in 0..<rankedCount {
                out.append(r == 0 ? "{" : ",{")
                appendJSONClass(ranked[r], outputs: outputs, to: out)
                out.append("}")
            }
            out.append("]")
        }
        out.append("}\n")
    }

    /// `"index":I,"label":L,"score":S,"prob":P` for class `o`.
    private func appendJSONClass(_ o: Int, outputs: UnsafePointer<Float>, to out: ByteBuffer) {
        out.append("\"index\":")
        out.appendDecimal(o)
        out.append(",\"label\":")
        if let labels { out.appendJSONString(labels[o]) } else { out.append("null") }
        out.append(",\"score\":")
        out.appendJSONNumber(outputs[o])
        out.append(",\"prob\":")
        out.appendJSONNumber(Float(probabilities[o]))
    }

    /// Fills `ranked` with the best `rankedCount` classes, best first. O(O * K).
    private func rank(_ outputs: UnsafePointer<Float>) {
        if rankedCount == 1 {
            // The argmax alone: the same class as the ranking below, without its bookkeeping,
            // and without branches on the values (a new best is a coin toss for the branch
            // predictor: 3.1 % -> 1.6 % of IDX classify's perf samples).
            var best = 0
            var bestValue = outputs[0]
            for o in 1..<max(1, outputWidth) {
                let value = outputs[o]
                let better = Self.beats(value, bestValue)
                best = better ? o : best
                bestValue = better ? value : bestValue
            }
            ranked[0] = best
            return
        }
        var filled = 0
        for o in 0..<outputWidth {
            let value = outputs[o]
            // Find where `o` goes among the classes ranked so far; it never passes an equal.
            var position = filled
            while position > 0 && Self.beats(value, outputs[ranked[position - 1]]) { position -= 1 }
            if position >= rankedCount { continue }
            var k = min(filled, rankedCount - 1)
            while k > position {
                ranked[k] = ranked[k - 1]
                k -= 1
            }
            ranked[position] = o
            if filled < rankedCount { filled += 1 }
        }
    }

    /// Whether `a` ranks strictly above `b`: a NaN above every number, else the greater.
    @inline(__always) static func beats(_ a: Float, _ b: Float) -> Bool {
        if b.isNaN { return false }
        if a.isNaN { return true }
        return a > b
    }

    /// `probabilities[o] = exp(x[o] - max) / sum`, in Double. A NaN output makes every
    /// probability NaN; +infinity outputs share the whole mass; all -infinity gives NaN.
    private func softmax(_ outputs: UnsafePointer<Float>) {
        var maximum = -Double.infinity
        var sawNaN = false
        for o in 0..<outputWidth {
            let x = Double(outputs[o])
            if x.isNaN { sawNaN = true } else if x > maximum { maximum = x }
        }
        if sawNaN || maximum == -.infinity {
            for o in 0..<outputWidth { probabilities[o] = .nan }
            return
        }
        if maximum == .infinity {
            var infinite = 0.0
            for o in 0..<outputWidth where outputs[o] == .infinity { infinite += 1 }
            for o in 0..<outputWidth { probabilities[o] = outputs[o] == .infinity ? 1 / infinite : 0 }
            return
        }
        var sum = 0.0
        for o in 0..<outputWidth {
            let e = exp(Double(outputs[o]) - maximum)
            probabilities[o] = e
            sum += e
        }
        for o in 0..<outputWidth { probabilities[o] /= sum }
    }

    /// A label's UTF-8 bytes with control characters escaped.
    static func escapedForText(_ label: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for byte in label.utf8 {
            switch byte {
            case 0x09: bytes += Array("\\t".utf8)
            case 0x0A: bytes += Array("\\n".utf8)
            case 0x0D: bytes += Array("\\r".utf8)
            case 0..<0x20, 0x7F:
                let digits = Array("0123456789abcdef".utf8)
                bytes += Array("\\x".utf8) + [digits[Int(byte >> 4)], digits[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        return bytes
    }
}
