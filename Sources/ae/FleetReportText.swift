import AutoencoderCore
import Foundation

/// `ae evaluate --models --data`'s output: tables on stdout, or the report as JSON.
struct FleetReportText {
    let report: FleetEvaluation.Report
    let json: Bool

    func print() throws {
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            Swift.print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        Swift.print(detectionTable(report.devices, total: report.fleet, title: "Per-device models"))
        if let g = report.global, let gt = report.globalFleet {
            Swift.print("")
            Swift.print(detectionTable(g, total: gt, title: "Global model (one model for every device)"))
        }
        Swift.print("")
        Swift.print(classTable(report.devices))
        let t = report.timing
        Swift.print("")
        let perCore = Double(t.rows) / max(t.computeSeconds, 1e-9)
        Swift.print(String(format: "Model compute: %d rows in %.2f s of one core: %.0f rows/s per core, %.0f with %d jobs; CSV parsing: %.2f s",
                           t.rows, t.computeSeconds, perCore, perCore * Double(t.jobs), t.jobs, t.csvSeconds))
    }

    static func rate(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "n/a" }

    func detectionTable(_ devices: [DeviceDetection], total: FleetEvaluation.Total, title: String) -> String {
        let header = ["device", "ws*", "FPR", "FPR (win)", "TPR", "TPR (win)", "delay (worst)"]
        var rows = devices.map { d -> [String] in
            [d.device, String(d.windowSize), Self.rate(d.instanceFPR), Self.rate(d.windowFPR), Self.rate(d.instanceTPR),
             Self.rate(d.windowTPR), delay(d)]
        }
        rows.append(["fleet (pooled)", "", Self.rate(total.instanceFPR), Self.rate(total.windowFPR), Self.rate(total.instanceTPR),
                     Self.rate(total.windowTPR), ""])
        rows.append(["fleet (mean)", "", "", Self.rate(total.meanWindowFPR), "", Self.rate(total.meanWindowTPR), ""])
        return title + "\n" + Table(header: header, rows: rows).text
    }

    /// The slowest attack's delay: seconds when the rows carry times, else instances; "never"
    /// when some attack file has no anomalous window.
    func delay(_ d: DeviceDetection) -> String {
        guard !d.attacks.isEmpty else { return "n/a" }
        if d.attacks.contains(where: { $0.delayInstances == nil }) { return "never" }
        if d.attacks.allSatisfy({ $0.delaySeconds != nil }) {
            return String(format: "%.2f s", d.attacks.compactMap(\.delaySeconds).max()!)
        }
        return "\(d.attacks.compactMap(\.delayInstances).max()!) inst."
    }

    /// Windowed TPR per attack family (pooled over its files), then per attack class.
    func classTable(_ devices: [DeviceDetection]) -> String {
        var families: [String] = []
        for d in devices { for f in d.families where !families.contains(f.family) { families.append(f.family) } }
        var classes: [String] = []
        for d in devices { for a in d.attacks where !classes.contains("\(a.family)/\(a.attack)") { classes.append("\(a.family)/\(a.attack)") } }
        let rows = devices.map { d in
            [d.device] + families.map { f in d.families.first { $0.family == f }.map { Self.rate($0.windowTPR) } ?? "-" }
                + classes.map { c in
                    guard let a = d.attacks.first(where: { "\($0.family)/\($0.attack)" == c }) else { return "-" }
                    return Self.rate(a.windowTPR)
                }
        }
        return "Windowed TPR per attack family and class\n" + Table(header: ["device"] + families + classes, rows: rows).text
    }
}
