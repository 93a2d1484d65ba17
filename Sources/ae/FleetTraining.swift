import AutoencoderCore
import Dispatch
import Foundation
import Synchronization

/// `ae train --data DIR`: one model per device, trained in parallel, written only when every
/// device succeeded (a failure leaves no model behind).
struct FleetTraining {
    let command: Train
    let configuration: TrainingConfiguration
    let data: String

    /// What one device's training gave.
    struct Outcome {
        var device: String
        var rows: Int
        var model: TrainedModel
        var seconds: Double
    }

    /// The device folders this run trains: all, or the one `--device`/`--device-index` names.
    func selectedDevices() throws -> [FleetFolder.Device] {
        var devices = try FleetFolder(data).devices
        if let name = command.device {
            guard let d = devices.first(where: { $0.name == name }) else {
                throw CLIError("\(data): no device '\(name)' (there are: \(devices.map(\.name).joined(separator: ", ")))")
            }
            devices = [d]
        }
        if let i = command.deviceIndex {
            guard devices.indices.contains(i) else { throw CLIError("--device-index \(i): \(data) has \(devices.count) devices (0…\(devices.count - 1))") }
            devices = [devices[i]]
        }
        return devices
    }

    func run() throws {
        let devices = try selectedDevices()
        guard command.maxWindow >= 1 else { throw CLIError("--max-window must be ≥ 1, got \(command.maxWindow)") }
        let trainer = DeviceTrainer(configuration: configuration, maxWindow: command.maxWindow)
        let start = Date()

        if command.global {
            let out = command.out ?? "models/global.safetensors"
            try Output.checkWritable(out, force: command.force)
            var tables: [FeatureTable] = []
            for d in devices { tables.append(try CSVReader().read(path: d.benign)) }
            print("Training one model on the benign thirds of \(devices.count) devices (\(tables.map(\.rowCount).reduce(0, +)) rows)")
            let model = try trainer.fit(devices: tables).model
            try ModelFile.write(model, to: out, overwrite: command.force)
            print(String(format: "%@: threshold %@, ws* %d, in %.1f s", out, "\(model.threshold)", model.window!.size, Date().timeIntervalSince(start)))
            return
        }

        let folder = command.out ?? "models"
        let paths = devices.map { (folder as NSString).appendingPathComponent("\($0.name).safetensors") }
        for p in paths { try Output.checkWritable(p, force: command.force) }
        let jobs = max(1, min(command.jobs ?? ProcessInfo.processInfo.activeProcessorCount, devices.count))
        print("Training \(devices.count) device model(s), \(jobs) at a time")
        fflush(nil)

        let next = Mutex(0)
        let outcomes = Mutex([Result<Outcome, Error>?](repeating: nil, count: devices.count))
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                let i: Int = next.withLock { n in defer { n += 1 }; return n }
                guard i < devices.count else { return }
                let d = devices[i]
                let r = Result { () throws -> Outcome in
                    let t0 = Date()
                    let table = try CSVReader().read(path: d.benign)
                    let sha = try Fingerprint.sha256(ofFile: d.benign)
                    do {
                        let model = try trainer.fit(table, dataSHA256: sha).model
                        return Outcome(device: d.name, rows: table.rowCount, model: model, seconds: Date().timeIntervalSince(t0))
                    } catch {
                        throw CLIError("\(d.benign): \(error)")
                    }
                }
                outcomes.withLock { o in
                    o[i] = r
                    let done = o.filter { $0 != nil }.count
                    switch r {
                    case .success(let x):
                        let w = x.model.window!
                        print(String(format: "[%d/%d] %@: %d benign rows, %d epochs in %.1f s, threshold %@, ws* %d",
                                     done, devices.count, x.device, x.rows, x.model.training.epochsRun, x.seconds, "\(x.model.threshold)", w.size))
                    case .failure(let e):
                        print("[\(done)/\(devices.count)] \(d.name): failed: \(e)")
                    }
                    fflush(nil)
                }
            }
        }
        let results = outcomes.withLock { $0.map { $0! } }
        var trained: [Outcome] = []
        for r in results {
            switch r {
            case .success(let x): trained.append(x)
            case .failure(let e): throw e   // nothing written yet
            }
        }
        for (x, p) in zip(trained, paths) { try ModelFile.write(x.model, to: p, overwrite: command.force) }

        print("")
        let header = ["device", "benign rows", "train/opt/test", "epochs", "seconds", "val_loss", "threshold", "opt FPR", "ws*"]
        var rows: [[String]] = []
        for x in trained {
            let w = x.model.window!, s = w.split!
            rows.append([x.device, String(x.rows), "\(s.train.count)/\(s.opt.count)/\(s.test.count)", String(x.model.training.epochsRun),
                         String(format: "%.1f", x.seconds), x.model.training.finalValLoss.map { String(format: "%.3g", $0) } ?? "n/a",
                         String(format: "%.4g", x.model.threshold), String(format: "%.4f", w.optInstanceFPR), String(w.size)])
        }
        print(Table(header: header, rows: rows).text)
        print(String(format: "%d model(s) in %@ in %.1f s", trained.count, folder, Date().timeIntervalSince(start)))
    }
}
