import ArgumentParser
import AutoencoderCore
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a labelled test CSV (per-class MSE, TPR, FPR, ROC-AUC), or a fleet's per-device models with window voting.",
        discussion: """
            --models DIR --data DIR: for every device folder of DIR (UCI layout), its model DIR/<device>.safetensors \
            from `ae train --data` is run on the benign third it held out and on every attack file; the table gives \
            per-instance and windowed (ws*) FPR and TPR, the detection delay and TPR per attack class, and a fleet total. \
            --global FILE adds a model from `ae train --data --global` side by side.
            """)

    @Option(help: "Model file from `ae train`.") var model: String?
    @Option(help: "Labelled test CSV (needs a 'target' column: 0 benign, other values attack classes).") var test: String?
    @Option(help: "A folder of per-device models from `ae train --data`.") var models: String?
    @Option(help: "With --models: the data folder, in the UCI layout.") var data: String?
    @Option(name: .customLong("global"), help: "With --models: a model from `ae train --data --global`, evaluated beside them.") var global: String?
    @Option(help: "With --models: devices evaluated at once (default: one per core).") var jobs: Int?
    @Option(help: "With --models: also write a self-contained HTML report (charts per device) to this file.") var report: String?
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "With --report: overwrite the file if it exists.") var force = false

    func run() throws {
        if let models {
            guard let data else { throw CLIError("--models needs --data DIR (the device folders)") }
            guard model == nil, test == nil else { throw CLIError("give --model/--test or --models/--data, not both") }
            if let report { try Output.checkWritable(report, force: force) }
            var evaluation = FleetEvaluation(models: models, data: data, global: global, jobs: jobs)
            evaluation.keepCurves = report != nil
            let result = try evaluation.run()
            if let report {
                do { try Data(FleetReportHTML(report: result).html.utf8).write(to: URL(fileURLWithPath: report)) } catch {
                    throw CLIError("\(report): cannot write: \(error.localizedDescription)")
                }
            }
            try FleetReportText(report: result, json: json).print()
            return
        }
        guard let model, let test else { throw CLIError("give --model FILE --test FILE, or --models DIR --data DIR") }
        let m = try ModelFile.read(path: model)
        let table = try CSVReader(features: m.featureNames).read(path: test)
        if !table.ignoredColumns.isEmpty { Output.stderr("note: ignoring column(s) not in the model: \(table.ignoredColumns.joined(separator: ", "))\n") }
        guard let targets = table.targets else { throw CLIError("\(test): no 'target' column, so there is nothing to evaluate against") }
        let errors = m.reconstructionErrors(table)
        if let bad = errors.firstIndex(where: { !$0.isFinite }) {
            throw CLIError("\(test): data row \(bad + 1) (line \(bad + 2)): feature values are too extreme for the model (the reconstruction error is not finite)")
        }
        let report = DetectionReport(errors: errors, targets: targets, threshold: m.threshold)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        func pct(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "n/a" }
        print("Test file:  \(test) (\(report.rows) rows)")
        print("Threshold:  \(m.threshold) (\(m.thresholdRule))")
        print("")
        print("class       rows      mean MSE      flagged")
        for c in report.classes {
            let name = c.target == 0 ? "benign" : "attack \(c.target)"
            print(name.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + String(c.rows).padding(toLength: 10, withPad: " ", startingAt: 0)
                  + String(format: "%-14.6g", c.meanMSE) + String(format: "%.4f", c.flaggedRate))
        }
        print("")
        print("TP \(report.truePositives)  FP \(report.falsePositives)  TN \(report.trueNegatives)  FN \(report.falseNegatives)")
        print("TPR \(pct(report.tpr))  FPR \(pct(report.fpr))  precision \(pct(report.precision))  F1 \(pct(report.f1))  ROC-AUC \(pct(report.rocAUC))")
        let attackClasses = report.classes.filter { $0.target != 0 }
        if attackClasses.count > 1 {
            print("TPR per attack class: " + attackClasses.map { "\($0.target): \(String(format: "%.4f", $0.flaggedRate))" }.joined(separator: ", "))
        }
    }
}
