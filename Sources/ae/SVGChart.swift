import Foundation

/// A small SVG chart with axes: enough for the report's lines, points and markers, with no
/// script and no external resource. Data marks carry the class `mark` (the page's self-check
/// counts them).
struct SVGChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var x: ClosedRange<Double>
    var y: ClosedRange<Double>
    var logX = false
    var width = 420.0, height = 280.0
    private var body: [String] = []
    private let left = 56.0, right = 12.0, top = 28.0, bottom = 42.0

    init(title: String, xLabel: String, yLabel: String, x: ClosedRange<Double>, y: ClosedRange<Double>, logX: Bool = false) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.logX = logX
        // A range of zero width would divide by zero.
        self.x = x.lowerBound < x.upperBound ? x : (x.lowerBound - 1)...(x.upperBound + 1)
        self.y = y.lowerBound < y.upperBound ? y : (y.lowerBound - 1)...(y.upperBound + 1)
    }

    func px(_ v: Double) -> Double {
        let (a, b, t) = logX ? (log10(x.lowerBound), log10(x.upperBound), log10(max(v, x.lowerBound))) : (x.lowerBound, x.upperBound, v)
        return left + (t - a) / (b - a) * (width - left - right)
    }
    func py(_ v: Double) -> Double { height - bottom - (v - y.lowerBound) / (y.upperBound - y.lowerBound) * (height - top - bottom) }
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    mutating func line(_ points: [(Double, Double)], color: String, width w: Double = 1.8, dash: Bool = false, label: String? = nil) {
        guard !points.isEmpty else { return }
        let d = points.map { "\(Self.f(px($0.0))),\(Self.f(py($0.1)))" }.joined(separator: " ")
        body.append("<polyline class=\"mark\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(w)\"\(dash ? " stroke-dasharray=\"5 4\"" : "") points=\"\(d)\"><title>\(Self.escape(label ?? ""))</title></polyline>")
    }

    mutating func points(_ points: [(Double, Double)], color: String, radius: Double = 2) {
        for p in points {
            body.append("<circle class=\"mark\" cx=\"\(Self.f(px(p.0)))\" cy=\"\(Self.f(py(p.1)))\" r=\"\(radius)\" fill=\"\(color)\" fill-opacity=\"0.55\"/>")
        }
    }

    /// A vertical marker (a threshold, ws*) with its label.
    mutating func vertical(at v: Double, label: String, color: String = "#222") {
        let X = Self.f(px(v))
        body.append("<line class=\"mark\" x1=\"\(X)\" x2=\"\(X)\" y1=\"\(Self.f(py(y.lowerBound)))\" y2=\"\(Self.f(py(y.upperBound)))\" stroke=\"\(color)\" stroke-dasharray=\"3 3\"/>")
        // At the bottom of the plot, clear of the legend (top right).
        body.append("<text x=\"\(Self.f(px(v) + 4))\" y=\"\(Self.f(height - bottom - 6))\" font-size=\"11\" fill=\"\(color)\">\(Self.escape(label))</text>")
    }

    /// Colour key, top right.
    mutating func legend(_ entries: [(String, String)]) {
        for (i, e) in entries.enumerated() {
            let yy = top + 14 + Double(i) * 14, xx = width - right - 120
            body.append("<rect x=\"\(Self.f(xx))\" y=\"\(Self.f(yy - 8))\" width=\"10\" height=\"10\" fill=\"\(e.1)\"/><text x=\"\(Self.f(xx + 14))\" y=\"\(Self.f(yy + 1))\" font-size=\"11\">\(Self.escape(e.0))</text>")
        }
    }

    /// At most about six ticks: decades (every k-th one) on a log axis, 1-2-5 steps on a linear one.
    func ticks(_ r: ClosedRange<Double>, log: Bool) -> [Double] {
        if log {
            let a = Int(floor(log10(r.lowerBound))), b = Int(ceil(log10(r.upperBound)))
            let every = max(1, (b - a + 5) / 6)
            return stride(from: a, through: b, by: every).map { pow(10, Double($0)) }.filter { r.contains($0) }
        }
        let rough = (r.upperBound - r.lowerBound) / 5
        let decade = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * decade }.first { $0 >= rough } ?? 10 * decade
        var v = ceil(r.lowerBound / step) * step, out: [Double] = []
        while v <= r.upperBound + step * 1e-9 { out.append(v); v += step }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e4 || abs(v) < 1e-2 { return String(format: "%.0e", v) }
        return String(format: "%g", (v * 1000).rounded() / 1000)
    }

    var svg: String {
        var axes: [String] = []
        let x0 = left, x1 = width - right, y0 = height - bottom, y1 = top
        axes.append("<rect x=\"\(x0)\" y=\"\(y1)\" width=\"\(x1 - x0)\" height=\"\(y0 - y1)\" fill=\"#fafafa\" stroke=\"#999\"/>")
        for t in ticks(x, log: logX) {
            axes.append("<text x=\"\(Self.f(px(t)))\" y=\"\(Self.f(y0 + 14))\" font-size=\"10\" text-anchor=\"middle\">\(Self.label(t))</text>")
        }
        for t in ticks(y, log: false) {
            axes.append("<text x=\"\(Self.f(x0 - 4))\" y=\"\(Self.f(py(t) + 3))\" font-size=\"10\" text-anchor=\"end\">\(Self.label(t))</text>")
        }
        axes.append("<text x=\"\(Self.f((x0 + x1) / 2))\" y=\"\(Self.f(height - 6))\" font-size=\"11\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        axes.append("<text transform=\"translate(12,\(Self.f((y0 + y1) / 2))) rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>")
        axes.append("<text x=\"\(x0)\" y=\"16\" font-size=\"12\" font-weight=\"bold\">\(Self.escape(title))</text>")
        return "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
            + axes.joined() + body.joined() + "</svg>"
    }
}
