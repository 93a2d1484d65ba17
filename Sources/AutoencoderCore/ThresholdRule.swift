import Foundation

/// How the anomaly threshold is calibrated from benign reconstruction errors.
public enum ThresholdRule: Sendable, Equatable, CustomStringConvertible {
    /// N-BaIoT's rule: mean + k standard deviations (population std, numpy's default `ddof=0`); k = 1.
    case meanPlusStd(Double)
    /// The q-th percentile (0...100), with numpy's default linear interpolation.
    case percentile(Double)

    /// Parses `mean+std`, `mean+2std`, `mean+2.5std`, `p99`, `p99.9`.
    public init?(_ text: String) {
        let t = text.lowercased().replacingOccurrences(of: " ", with: "")
        if t == "mean+std" { self = .meanPlusStd(1); return }
        if t.hasPrefix("mean+"), t.hasSuffix("std"), let k = Double(t.dropFirst(5).dropLast(3)), k.isFinite, k >= 0 {
            self = .meanPlusStd(k); return
        }
        if t.hasPrefix("p"), let q = Double(t.dropFirst()), q >= 0, q <= 100 { self = .percentile(q); return }
        return nil
    }

    public var description: String {
        switch self {
        case .meanPlusStd(let k): return k == 1 ? "mean+std" : "mean+\(Self.trim(k))std"
        case .percentile(let q): return "p\(Self.trim(q))"
        }
    }

    static func trim(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    /// The threshold over `errors` (must not be empty).
    public func threshold(_ errors: [Float]) -> Float {
        precondition(!errors.isEmpty)
        switch self {
        case .meanPlusStd(let k):
            var sum = 0.0
            for e in errors { sum += Double(e) }
            let mean = sum / Double(errors.count)
            var ss = 0.0
            for e in errors { let d = Double(e) - mean; ss += d * d }
            return Float(mean + k * (ss / Double(errors.count)).squareRoot())
        case .percentile(let q):
            let sorted = errors.map(Double.init).sorted()
            let pos = q / 100 * Double(sorted.count - 1)
            let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
            return Float(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo)))
        }
    }
}
