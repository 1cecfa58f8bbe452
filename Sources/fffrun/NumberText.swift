/// Fixed-point text for reports (`94.73%`, `0.9950`), without Foundation. Off the hot path.
enum NumberText {
    /// `value` rounded to `digits` decimals (0 ... 9), half away from zero: `fixed(0.99496, 4)`
    /// is `"0.9950"`. Non-finite values print as `nan`, `inf`, `-inf`.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        precondition((0...9).contains(digits), "0 to 9 decimals")
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e18 else { return "\(value)" }
        return text(units: Int(scaled), digits: digits, negative: value < 0 && scaled > 0)
    }

    /// `numerator / denominator` as a percentage with two decimals, computed exactly in
    /// integers and rounded half up: `percent(9473, 10000)` is `"94.73%"`; `"n/a"` when the
    /// denominator is 0. Precondition: both are non-negative.
    static func percent(_ numerator: Int, _ denominator: Int) -> String {
        precondition(numerator >= 0 && denominator >= 0, "counts are non-negative")
        if denominator == 0 { return "n/a" }
        // Basis points, rounded half up: floor((2 * 10000 * n + d) / (2 * d)).
        let basisPoints = (20_000 * numerator + denominator) / (2 * denominator)
        return text(units: basisPoints, digits: 2, negative: false) + "%"
    }

    private static func text(units: Int, digits: Int, negative: Bool) -> String {
        var divisor = 1
        for _ in 0..<digits { divisor *= 10 }
        var out = negative ? "-" : ""
        out += String(units / divisor)
        if digits > 0 {
            let fraction = String(units % divisor)
            out += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return out
    }
}
