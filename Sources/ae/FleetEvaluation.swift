import AutoencoderCore
import Dispatch
import Foundation
import Synchronization

/// `ae evaluate --models DIR --data DIR`: each device's model on its held-out benign third and
/// on every attack file, per instance and with window voting; optionally a global model beside it.
struct FleetEvaluation {
    let models: String
    let data: String
    let global: String?
    let jobs: Int?
    /// Keep what the HTML report draws (every error, a sample of latent codes).
    var keepCurves = false

    /// What the report draws of one device's model.
    struct Curves {
        var device: String
        var threshold: Float
        var windowSize: Int
        var benign: [Float]
        var attacks: [DeviceDetection.AttackErrors]
        /// (class, 16-d code) for a sample of rows: benign, gafgyt, mirai.
        var latent: [(String, [Float])]
    }

    /// Everything `--json` writes.
    struct Report: Codable {
        var devices: [DeviceDetection]
        var fleet: Total
        var global: [DeviceDetection]?
        var globalFleet: Total?
        var timing: Timing
        /// Not in the JSON: the report's raw material.
        var curves: [Curves] = []
        enum CodingKeys: String, CodingKey { case devices, fleet, global, globalFleet = "global_fleet", timing }
    }

    /// Pooled over devices, and the mean of the devices' rates (the paper's "mean FPR").
    struct Total: Codable {
        var counts: DeviceDetection.Counts
        var instanceFPR: Double?, windowFPR: Double?, instanceTPR: Double?, windowTPR: Double?
        var meanWindowFPR: Double?, meanWindowTPR: Double?

        init(_ devices: [DeviceDetection]) {
            counts = devices.map(\.counts).reduce(DeviceDetection.Counts(), +)
            instanceFPR = counts.instanceFPR; windowFPR = counts.windowFPR
            instanceTPR = counts.instanceTPR; windowTPR = counts.windowTPR
            func mean(_ xs: [Double?]) -> Double? { let v = xs.compactMap { $0 }; return v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
            meanWindowFPR = mean(devices.map(\.windowFPR)); meanWindowTPR = mean(devices.map(\.windowTPR))
        }
        enum CodingKeys: String, CodingKey {
            case counts, instanceFPR = "instance_fpr", windowFPR = "window_fpr", instanceTPR = "instance_tpr", windowTPR = "window_tpr"
            case meanWindowFPR = "mean_window_fpr", meanWindowTPR = "mean_window_tpr"
        }
    }

    struct Timing: Codable {
        var rows: Int
        var csvSeconds: Double
        /// Summed over threads: rows / computeSeconds is the rate of one core.
        var computeSeconds: Double
        var jobs: Int
        enum CodingKeys: String, CodingKey { case rows, csvSeconds = "csv_seconds", computeSeconds = "compute_seconds", jobs }
    }

    func load(_ path: String) throws -> TrainedModel {
        let m = try ModelFile.read(path: path)
        guard m.window != nil else {
            throw CLIError("\(path): this model has no window size; train it with `ae train --data` (per device) or `--data --global`")
        }
        return m
    }

    func run() throws -> Report {
        let fleet = try FleetFolder(data)
        let missing = fleet.devices.filter { !FileManager.default.fileExists(atPath: modelPath($0)) }
        guard missing.isEmpty else {
            throw CLIError("\(models): no model for \(missing.map(\.name).joined(separator: ", ")) (expected <device>.safetensors; train with `ae train --data \(data) --out \(models)`)")
        }
        var perDevice: [TrainedModel] = []
        for d in fleet.devices { perDevice.append(try load(modelPath(d))) }
        let globalModel = try global.map(load)
        let jobs = max(1, min(self.jobs ?? ProcessInfo.processInfo.activeProcessorCount, fleet.devices.count))

        let next = Mutex(0)
        let results = Mutex([Result<(DeviceDetection, DeviceDetection?, Timing, Curves?), Error>?](repeating: nil, count: fleet.devices.count))
        let devices = fleet.devices, models = perDevice
        DispatchQueue.concurrentPerform(iterations: jobs) { _ in
            while true {
                let i: Int = next.withLock { n in defer { n += 1 }; return n }
                guard i < devices.count else { return }
                let r = Result { try evaluate(devices[i], models[i], globalModel) }
                results.withLock { $0[i] = r }
            }
        }
        var detections: [DeviceDetection] = [], globals: [DeviceDetection] = [], curves: [Curves] = []
        var timing = Timing(rows: 0, csvSeconds: 0, computeSeconds: 0, jobs: jobs)
        for r in results.withLock({ $0.map { $0! } }) {
            let (d, g, t, c) = try r.get()
            detections.append(d)
            if let c { curves.append(c) }
            if let g { globals.append(g) }
            timing.rows += t.rows; timing.csvSeconds += t.csvSeconds; timing.computeSeconds += t.computeSeconds
        }
        return Report(devices: detections, fleet: Total(detections), global: globalModel == nil ? nil : globals,
                      globalFleet: globalModel == nil ? nil : Total(globals), timing: timing, curves: curves)
    }

    func modelPath(_ d: FleetFolder.Device) -> String { (models as NSString).appendingPathComponent("\(d.name).safetensors") }

    /// One device: its benign test third and every attack file, through its model (and the global one).
    func evaluate(_ device: FleetFolder.Device, _ model: TrainedModel, _ global: TrainedModel?) throws -> (DeviceDetection, DeviceDetection?, Timing, Curves?) {
        var timing = Timing(rows: 0, csvSeconds: 0, computeSeconds: 0, jobs: 1)
        func read(_ path: String) throws -> FeatureTable {
            let t0 = DispatchTime.now().uptimeNanoseconds
            defer { timing.csvSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            return try CSVReader(features: model.featureNames).read(path: path)
        }
        func errors(_ m: TrainedModel, _ table: FeatureTable) throws -> [Float] {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let e = m.reconstructionErrors(table)
            timing.computeSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            timing.rows += table.rowCount
            if let bad = e.firstIndex(where: { !$0.isFinite }) {
                throw CLIError("\(table.source): data row \(bad + 1) (line \(bad + 2)): feature values are too extreme for the model (the reconstruction error is not finite)")
            }
            return e
        }
        if let g = global, g.featureNames != model.featureNames {
            throw CLIError("the global model's features differ from \(device.name)'s model's")
        }
        let benign = try read(device.benign)
        var split = try BenignSplit(rows: benign.rowCount)
        if let s = model.window!.split { split = s }
        guard split.test.upperBound == benign.rowCount else {
            throw CLIError("\(device.benign): \(benign.rowCount) rows, but the model was trained on a file of \(split.test.upperBound); the held-out third is unknown")
        }
        let test = benign.selecting(rows: Array(split.test))
        var attacks: [(String, String, FeatureTable)] = []
        for a in device.attacks { attacks.append((a.family.replacingOccurrences(of: "_attacks", with: ""), a.attack, try read(a.path))) }

        var curves: Curves? = nil
        func detect(_ m: TrainedModel, keep: Bool) throws -> DeviceDetection {
            let b = try errors(m, test)
            var ae: [DeviceDetection.AttackErrors] = []
            for (family, attack, table) in attacks {
                ae.append(.init(family: family, attack: attack, errors: try errors(m, table), timestamps: table.timestamps))
            }
            if keep {
                var latent: [(String, [Float])] = []
                func sample(_ label: String, _ tables: [FeatureTable], _ count: Int) {
                    let rows = tables.map(\.rowCount).reduce(0, +)
                    guard rows > 0 else { return }
                    let step = max(1, rows / count)
                    for t in tables {
                        let picked = t.selecting(rows: Array(stride(from: 0, to: t.rowCount, by: step)))
                        let z = m.encode(picked), k = m.network.latentSize
                        for r in 0..<picked.rowCount { latent.append((label, Array(z[(r * k)..<((r + 1) * k)]))) }
                    }
                }
                sample("benign", [test], 600)
                for family in ["gafgyt", "mirai"] { sample(family, attacks.filter { $0.0 == family }.map(\.2), 400) }
                curves = Curves(device: device.name, threshold: m.threshold, windowSize: m.window!.size, benign: b, attacks: ae, latent: latent)
            }
            return DeviceDetection(device: device.name, threshold: m.threshold, windowSize: m.window!.size, benign: b, attacks: ae)
        }
        return (try detect(model, keep: keepCurves), try global.map { try detect($0, keep: false) }, timing, curves)
    }
}
