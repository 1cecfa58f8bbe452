import FastFeedforward

/// Looks once at the first records of a run for inputs that were already preprocessed although
/// the model preprocesses them again: pixels scaled to 0..1 or -1..1 fed to a model whose
/// preprocessing expects 0..255. The answers are then nonsense (every record in one class)
/// with exit 0, so a note on standard error names the likely cause and `--raw`.
///
/// The sign, all of: the values seen lie in [-1, 1] (where normalised data lives) and are not
/// all equal; the preprocessing shrinks (every |scale| < 1), so it expects raw values spread
/// wider than the network's inputs; and it maps the values seen into under a quarter of the
/// network's [-1, 1] (a spread below ``sliver``). Raw data for such a model spreads wider
/// (MNIST pixels 0..255 with scale 2/255 span 2; digits 0..16 with scale 1/8 span 2), and values
/// beyond [-1, 1] never trigger it, so integer pixels raise the note only for a blank record.
struct InputDomainCheck {
    /// The spread of preprocessed values below which the inputs look preprocessed already.
    static let sliver: Float = 0.5

    /// The note for `count` records of `model.inputWidth` raw values at `records`, or nil.
    /// O(count * inputWidth); meant for the first block of a run only.
    static func note(model: InferenceModel, records: UnsafePointer<Float>, count: Int) -> String? {
        guard model.hasPreprocessing, count > 0 else { return nil }
        let width = model.inputWidth
        var rawLow = Float.infinity, rawHigh = -Float.infinity
        var low = Float.infinity, high = -Float.infinity
        var scales = [Float](), offsets = [Float]()
        scales.reserveCapacity(width)
        offsets.reserveCapacity(width)
        for j in 0..<width {
            guard let (scale, offset) = model.preprocessing(ofFeature: j) else { return nil }
            scales.append(scale)
            offsets.append(offset)
        }
        let shrinks = scales.allSatisfy { abs($0) < 1 }
        // Record by record, in memory order (a feature at a time strode through the block).
        for r in 0..<count {
            let record = records + r * width
            for j in 0..<width {
                let raw = record[j]
                guard raw.isFinite else { continue }
                rawLow = min(rawLow, raw)
                rawHigh = max(rawHigh, raw)
                let x = raw * scales[j] + offsets[j]
                low = min(low, x)
                high = max(high, x)
            }
        }
        guard shrinks, rawLow >= -1, rawHigh <= 1, rawLow < rawHigh, high - low < sliver else { return nil }
        let (scale, offset) = model.preprocessing(ofFeature: 0)!
        let rule = (0..<width).allSatisfy { model.preprocessing(ofFeature: $0)! == (scale, offset) }
            ? "x * \(scale) \(offset < 0 ? "-" : "+") \(abs(offset))" : "its per-feature scale and offset"
        return "the first \(count == 1 ? "record's" : "\(count) records'") values lie in "
            + "[\(rawLow), \(rawHigh)]; the model's preprocessing (\(rule)) "
            + "maps them into [\(low), \(high)], far narrower than the raw "
            + "values it expects. If the records are already preprocessed (normalised), add --raw."
    }
}
