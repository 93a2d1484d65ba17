import AutoencoderCore
import Foundation

/// `ae evaluate --models --data --report FILE`: one self-contained HTML page (inline SVG, no
/// script from elsewhere, no network) with, per device, the error distributions and the
/// threshold, the ROC curve and its operating point, windowed FPR/TPR against the window size
/// with ws* marked, and a 2-D PCA projection of the latent space; and the summary table.
struct FleetReportHTML {
    let report: FleetEvaluation.Report

    static let colors = ["benign": "#2b8a3e", "gafgyt": "#d9480f", "mirai": "#5f3dc4"]

    var html: String {
        var sections: [String] = []
        for c in report.curves { sections.append(section(c)) }
        let table = summaryTable()
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>iot-autoencoder: fleet detection report</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:24px;color:#222}
        table{border-collapse:collapse;margin:8px 0 24px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
        td:first-child,th:first-child{text-align:left}.grid{display:flex;flex-wrap:wrap;gap:12px}
        h2{margin-top:28px;border-bottom:1px solid #ddd}
        </style></head>
        <body data-charts-total="\(report.curves.count * 4)">
        <h1>Fleet detection report</h1>
        <p>Per-device autoencoders (N-BaIoT): each model is scored on the benign third it held out and on every attack file.
        A window of ws* consecutive instances is anomalous when more than half of them are.</p>
        \(table)
        \(sections.joined(separator: "\n"))
        <script>
        // Self-check for the browser test: every chart drew at least one data mark.
        window.addEventListener('error', e => { document.body.dataset.errors = (document.body.dataset.errors || '') + e.message + ';'; });
        window.addEventListener('load', () => {
          const charts = [...document.querySelectorAll('svg.chart')];
          document.body.dataset.chartsDrawn = charts.filter(s => s.querySelectorAll('.mark').length > 0 && s.getBBox().width > 0).length;
        });
        </script>
        </body></html>
        """
    }

    func summaryTable() -> String {
        func r(_ x: Double?) -> String { FleetReportText.rate(x) }
        var rows = report.devices.map { d in
            "<tr><td>\(SVGChart.escape(d.device))</td><td>\(d.windowSize)</td><td>\(r(d.instanceFPR))</td><td>\(r(d.windowFPR))</td><td>\(r(d.instanceTPR))</td><td>\(r(d.windowTPR))</td><td>\(FleetReportText(report: report, json: false).delay(d))</td></tr>"
        }
        let t = report.fleet
        rows.append("<tr><th>fleet (pooled)</th><th></th><th>\(r(t.instanceFPR))</th><th>\(r(t.windowFPR))</th><th>\(r(t.instanceTPR))</th><th>\(r(t.windowTPR))</th><th></th></tr>")
        return "<table><tr><th>device</th><th>ws*</th><th>FPR</th><th>FPR (win)</th><th>TPR</th><th>TPR (win)</th><th>delay (worst)</th></tr>\(rows.joined())</table>"
    }

    func section(_ c: FleetEvaluation.Curves) -> String {
        "<h2>\(SVGChart.escape(c.device))</h2><div class=\"grid\">" + [histogram(c), roc(c), windows(c), latent(c)].joined() + "</div>"
    }

    /// The attack files' errors by family.
    func families(_ c: FleetEvaluation.Curves) -> [(String, [Float])] {
        ["gafgyt", "mirai"].compactMap { f in
            let e = c.attacks.filter { $0.family == f }.flatMap(\.errors)
            return e.isEmpty ? nil : (f, e)
        }
    }

    /// Share of each class's rows per bin of log10(MSE), with the threshold.
    func histogram(_ c: FleetEvaluation.Curves) -> String {
        let classes = [("benign", c.benign)] + families(c)
        let all = classes.flatMap(\.1).filter { $0 > 0 && $0.isFinite }
        let lo = Double(all.min() ?? 1e-6), hi = Double(max(all.max() ?? 1, c.threshold * 2))
        let bins = 40
        let a = log10(lo), b = log10(hi) + 1e-9
        var curves: [(String, [(Double, Double)])] = []
        var top = 0.0
        for (name, e) in classes {
            var counts = [Double](repeating: 0, count: bins)
            for v in e where v > 0 { counts[min(bins - 1, max(0, Int((log10(Double(v)) - a) / (b - a) * Double(bins))))] += 1 }
            let pts = counts.enumerated().map { (pow(10, a + (Double($0.offset) + 0.5) / Double(bins) * (b - a)), $0.element / Double(max(e.count, 1))) }
            top = max(top, pts.map(\.1).max() ?? 0)
            curves.append((name, pts))
        }
        var chart = SVGChart(title: "Reconstruction error", xLabel: "MSE (log scale)", yLabel: "share of rows", x: lo...hi, y: 0...max(top, 0.01), logX: true)
        for (name, pts) in curves { chart.line(pts, color: Self.colors[name]!, label: name) }
        chart.vertical(at: Double(c.threshold), label: "threshold")
        chart.legend(curves.map { ($0.0, Self.colors[$0.0]!) })
        return chart.svg
    }

    /// Per-instance ROC over every attack row against the benign third, with the model's point.
    func roc(_ c: FleetEvaluation.Curves) -> String {
        let attack = c.attacks.flatMap(\.errors).sorted(), benign = c.benign.sorted()
        var chart = SVGChart(title: "ROC (per instance)", xLabel: "false-positive rate", yLabel: "true-positive rate", x: 0...1, y: 0...1)
        func above(_ s: [Float], _ t: Float) -> Double {
            var lo = 0, hi = s.count
            while lo < hi { let m = (lo + hi) / 2; if s[m] > t { hi = m } else { lo = m + 1 } }
            return s.isEmpty ? 0 : Double(s.count - lo) / Double(s.count)
        }
        let candidates = (0...200).map { i in (benign + attack).isEmpty ? 0 : (benign + attack).sorted()[min((benign.count + attack.count - 1), i * (benign.count + attack.count - 1) / 200)] }
        var pts = candidates.map { (above(benign, $0), above(attack, $0)) } + [(0, 0), (1, 1)]
        pts.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        chart.line(pts, color: "#1864ab")
        chart.line([(0, 0), (1, 1)], color: "#aaa", width: 1, dash: true)
        chart.points([(above(benign, c.threshold), above(attack, c.threshold))], color: "#c92a2a", radius: 5)
        chart.legend([("operating point", "#c92a2a")])
        return chart.svg
    }

    /// Windowed FPR (benign third) and TPR (attack files) against the window size.
    func windows(_ c: FleetEvaluation.Curves) -> String {
        let top = max(2 * c.windowSize, 20)
        var sizes: [Int] = []
        var s = 1.0
        while Int(s) <= top { if sizes.last != Int(s) { sizes.append(Int(s)) }; s *= 1.12 }
        if !sizes.contains(c.windowSize) { sizes.append(c.windowSize); sizes.sort() }
        let benign = c.benign.map { $0 > c.threshold }
        let attacks = c.attacks.map { $0.errors.map { $0 > c.threshold } }
        var fpr: [(Double, Double)] = [], tpr: [(Double, Double)] = []
        for w in sizes {
            if let r = WindowVote.count(benign, size: w).rate { fpr.append((Double(w), r)) }
            let counts = attacks.map { WindowVote.count($0, size: w) }
            let windows = counts.map(\.windows).reduce(0, +)
            if windows > 0 { tpr.append((Double(w), Double(counts.map(\.anomalous).reduce(0, +)) / Double(windows))) }
        }
        var chart = SVGChart(title: "Window voting", xLabel: "window size (instances, log scale)", yLabel: "rate", x: 1...Double(top), y: 0...1, logX: true)
        chart.line(fpr, color: Self.colors["benign"]!, label: "FPR")
        chart.line(tpr, color: "#c92a2a", label: "TPR")
        chart.vertical(at: Double(c.windowSize), label: "ws* = \(c.windowSize)")
        chart.legend([("windowed FPR", Self.colors["benign"]!), ("windowed TPR", "#c92a2a")])
        return chart.svg
    }

    /// The latent codes projected on their first two principal components. The view spans the
    /// 1st to 99th percentile of each axis (a few far points would squeeze the rest into a dot);
    /// the title counts the points left outside.
    func latent(_ c: FleetEvaluation.Curves) -> String {
        let projected = PCA2(c.latent.map(\.1)).project(c.latent.map(\.1))
        func span(_ v: [Double]) -> ClosedRange<Double> {
            let s = v.sorted()
            guard !s.isEmpty else { return 0...1 }
            let lo = s[s.count / 100], hi = s[s.count - 1 - s.count / 100], pad = (hi - lo) * 0.08
            return (lo - pad)...(hi + pad)
        }
        let xr = span(projected.map(\.0)), yr = span(projected.map(\.1))
        let outside = projected.filter { !xr.contains($0.0) || !yr.contains($0.1) }.count
        var chart = SVGChart(title: "Latent space (PCA of the 16-d code)" + (outside > 0 ? ", \(outside) points outside" : ""),
                             xLabel: "PC 1", yLabel: "PC 2", x: xr, y: yr)
        var shown: [(String, String)] = []
        for label in ["benign", "gafgyt", "mirai"] {
            let pts = zip(c.latent, projected).filter { $0.0.0 == label && xr.contains($0.1.0) && yr.contains($0.1.1) }.map(\.1)
            if pts.isEmpty { continue }
            chart.points(pts, color: Self.colors[label]!)
            shown.append((label, Self.colors[label]!))
        }
        chart.legend(shown)
        return chart.svg
    }
}

/// The first two principal components of a set of vectors (power iteration on the covariance,
/// with deflation): enough for a 16-d latent space.
struct PCA2 {
    var mean: [Double]
    var components: [[Double]]

    init(_ rows: [[Float]]) {
        let d = rows.first?.count ?? 0
        var mean = [Double](repeating: 0, count: d)
        for r in rows { for j in 0..<d { mean[j] += Double(r[j]) } }
        if !rows.isEmpty { mean = mean.map { $0 / Double(rows.count) } }
        var cov = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for r in rows {
            let c = (0..<d).map { Double(r[$0]) - mean[$0] }
            for i in 0..<d { for j in 0..<d { cov[i][j] += c[i] * c[j] } }
        }
        var components: [[Double]] = []
        for k in 0..<min(2, d) {
            var v = (0..<d).map { 1.0 / Double($0 + k + 1) }
            for _ in 0..<200 {
                var w = (0..<d).map { i in (0..<d).reduce(0.0) { $0 + cov[i][$1] * v[$1] } }
                let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm == 0 { break }
                w = w.map { $0 / norm }
                v = w
            }
            components.append(v)
            let lambda = (0..<d).reduce(0.0) { acc, i in acc + v[i] * (0..<d).reduce(0.0) { $0 + cov[i][$1] * v[$1] } }
            for i in 0..<d { for j in 0..<d { cov[i][j] -= lambda * v[i] * v[j] } }
        }
        while components.count < 2 { components.append([Double](repeating: 0, count: d)) }
        self.mean = mean
        self.components = components
    }

    func project(_ rows: [[Float]]) -> [(Double, Double)] {
        rows.map { r in
            let c = r.indices.map { Double(r[$0]) - mean[$0] }
            return (zip(c, components[0]).reduce(0) { $0 + $1.0 * $1.1 }, zip(c, components[1]).reduce(0) { $0 + $1.0 * $1.1 })
        }
    }
}
