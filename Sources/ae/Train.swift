import ArgumentParser
import AutoencoderCore
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the autoencoder on a Kaggle/UCI N-BaIoT CSV, or one model per device of a UCI-layout folder.",
        discussion: """
            --data DIR trains one model per device folder (DIR/<device>/benign_traffic.csv) as N-BaIoT does: \
            the benign rows in time order are cut into thirds; the first trains, the second sets the threshold \
            and the window size ws*, the last is kept for `ae evaluate --models --data`. Devices train in \
            parallel (--jobs, one per core by default) and the models go to --out (default models/) as \
            <device>.safetensors. --global instead trains one model on every device's thirds, for comparison.
            """)

    @Option(help: "Training CSV: the 115 N-BaIoT features (any order), optionally a 'target' column.")
    var train: String?

    @Option(help: "A folder in the UCI layout: one model per device sub-folder.") var data: String?
    @Option(help: "With --data: train only this device's folder.") var device: String?
    @Option(name: .customLong("device-index"), help: "With --data: train only the Nth device folder (0-based, in name order), as a Kubernetes Indexed Job's pod does.")
    var deviceIndex: Int?
    @Flag(name: .customLong("global"), help: "With --data: one model on every device's benign thirds (written to --out, default models/global.safetensors).")
    var global = false
    @Option(name: .customLong("max-window"), help: "With --data: the largest window ws* may be.") var maxWindow: Int = 1000
    @Option(help: "With --data: devices trained at once (default: one per core).") var jobs: Int?

    @Option(help: "Training configuration JSON; flags override it.")
    var config: String = "config/train.json"

    @Option(help: "Model file to write (its folder is made if missing; default models/model.safetensors, ae-server's default model); with --data, the models' folder (default models/).")
    var out: String?

    @Option(help: "Epochs (seed: 50).") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Mini-batch size (seed: 32).") var batchSize: Int?
    @Option(help: "Random seed for initialisation and shuffling.") var seed: UInt64?
    @Option(help: "Which rows train: all (the seed) or benign (N-BaIoT). Default: benign when there is a target column.")
    var rows: String?
    @Option(name: .customLong("validation-split"), help: "Share of the last rows used for validation (seed: 0.25).")
    var validationSplit: Double?
    @Option(help: "Threshold rule: mean+std (N-BaIoT), mean+Kstd, or pQ such as p99.") var threshold: String?
    @Option(help: "Stop when val_loss has not improved for N epochs; restores the best weights.")
    var earlyStopping: Int?
    @Flag(help: "Overwrite the model file if it exists.") var force = false

    func run() throws {
        let cfg = try configuration()
        if let data {
            guard train == nil else { throw CLIError("give --train FILE or --data DIR, not both") }
            try FleetTraining(command: self, configuration: cfg, data: data).run()
            return
        }
        guard let train else { throw CLIError("give --train FILE (one model) or --data DIR (one model per device)") }
        if device != nil || deviceIndex != nil || global { throw CLIError("--device, --device-index and --global need --data DIR") }
        let out = self.out ?? "models/model.safetensors"
        try Output.checkWritable(out, force: force)

        let t0 = Date()
        let table = try CSVReader().read(path: train)
        if !table.ignoredColumns.isEmpty { Output.stderr("note: ignoring column(s) \(table.ignoredColumns.joined(separator: ", "))\n") }
        let sha = try Fingerprint.sha256(ofFile: train)
        let labelled = table.targets.map { t in "\(t.filter { $0 == 0 }.count) benign, \(t.filter { $0 != 0 }.count) attack" } ?? "no target column"
        print("Loaded \(table.rowCount) rows × \(table.columnCount) features from \(train) (\(labelled)) in \(String(format: "%.2f", Date().timeIntervalSince(t0))) s")

        let bar = ProgressPrinter(live: Output.isTerminal(1))
        let trainStart = Date()
        let result = try Trainer(configuration: cfg).fit(table, dataSHA256: sha) { bar.handle($0) }
        let seconds = Date().timeIntervalSince(trainStart)
        try ModelFile.write(result.model, to: out, overwrite: force)

        let m = result.model
        let s = m.training
        print("")
        print("Model:      \(out) (\(m.network.parameterCount) parameters, sha256 \(try Fingerprint.sha256(ofFile: out).prefix(12)))")
        print("Trained on: \(s.trainRows) rows (\(s.rows)), validated on \(s.validationRows), seed \(s.seed)")
        print("Epochs:     \(s.epochsRun) run, weights of epoch \(s.bestEpoch) kept, \(String(format: "%.1f", seconds)) s")
        print("Loss:       \(fmt(s.finalLoss))   val_loss: \(s.finalValLoss.map(fmt) ?? "n/a")")
        print("Threshold:  \(m.threshold) (\(m.thresholdRule), over \(s.thresholdRows) benign validation rows)")
    }

    /// The configuration file, then the flags over it.
    func configuration() throws -> TrainingConfiguration {
        var cfg: TrainingConfiguration
        if FileManager.default.fileExists(atPath: config) {
            cfg = try TrainingConfiguration(jsonFile: config)
        } else if config == "config/train.json" {
            cfg = TrainingConfiguration()   // the checked-in file holds exactly these defaults
        } else {
            throw CLIError("\(config): no such configuration file")
        }
        if let epochs { cfg.epochs = epochs }
        if let batchSize { cfg.batchSize = batchSize }
        if let seed { cfg.seed = seed }
        if let validationSplit { cfg.validationSplit = validationSplit }
        if let earlyStopping { cfg.earlyStoppingPatience = earlyStopping }
        if let rows {
            guard let r = TrainingConfiguration.Rows(rawValue: rows) else { throw CLIError("--rows must be all, benign or auto, got '\(rows)'") }
            cfg.rows = r
        }
        if let threshold {
            guard let t = ThresholdRule(threshold) else { throw CLIError("--threshold must be mean+std, mean+Kstd or pQ, got '\(threshold)'") }
            cfg.threshold = t
        }
        try cfg.validate()
        return cfg
    }
}

func fmt(_ x: Double) -> String { String(format: "%.6g", x) }

/// Keras-style progress: a live bar within the epoch on a terminal, one line per epoch always.
final class ProgressPrinter {
    let live: Bool
    private var lastDraw = 0.0

    init(live: Bool) { self.live = live }

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .batch(epoch, batch, batches, loss):
            guard live else { return }
            let now = Date().timeIntervalSinceReferenceDate
            guard now - lastDraw > 0.1 || batch == batches else { return }
            lastDraw = now
            let width = 30
            let done = width * batch / batches
            let bar = String(repeating: "=", count: done) + (done < width ? ">" : "") + String(repeating: ".", count: max(0, width - done - 1))
            Output.stderr("\rEpoch \(epoch) \(batch)/\(batches) [\(bar)] - loss: \(fmt(loss))   ")
        case .epochEnd(let r):
            if live { Output.stderr("\r\u{1B}[2K") }
            let val = r.valLoss.map { " - val_loss: \(String(format: "%.6f", $0))" } ?? ""
            print("Epoch \(r.epoch)/\(r.epochs) - \(String(format: "%.2f", r.seconds))s - loss: \(String(format: "%.6f", r.loss))\(val)")
            fflush(nil)
        case let .earlyStop(epoch, best):
            print("Early stopping at epoch \(epoch): val_loss has not improved since epoch \(best); restoring its weights.")
        }
    }
}
