import Dispatch
import Foundation
import Synchronization
import TrafficFeatures

/// `ae synth --fleet DIR`: a home network's devices, each in the UCI download's layout.
struct FleetWriter {
    var folder: String
    var devices: [DeviceProfile]
    var benignRows: Int
    var attackRows: Int
    var seed: UInt64
    var mode: FeatureExtractor.Mode
    var force: Bool

    /// One output file: its path, its device and its attack (nil: benign).
    struct File { var path: String; var device: Int; var attack: FleetAttack? }

    var files: [File] {
        devices.indices.flatMap { d -> [File] in
            let base = (folder as NSString).appendingPathComponent(devices[d].name)
            return [File(path: (base as NSString).appendingPathComponent("benign_traffic.csv"), device: d, attack: nil)]
                + FleetAttack.all.map { a in
                    File(path: "\(base)/\(a.folder)/\(a.className).csv", device: d, attack: a)
                }
        }
    }

    /// Checks every path first (nothing is written if one would be overwritten), then simulates
    /// the devices in parallel, one per core.
    func run() throws -> [(File, rows: Int)] {
        let files = self.files
        if !force { for f in files { try Output.checkWritable(f.path, force: false) } }
        for f in files {
            try FileManager.default.createDirectory(atPath: (f.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        let results = Mutex(Array(repeating: Result<Int, Error>.success(0), count: files.count))
        let byDevice = Dictionary(grouping: files.indices, by: { files[$0].device })
        DispatchQueue.concurrentPerform(iterations: devices.count) { d in
            for i in byDevice[d] ?? [] {
                let r = Result { try write(files[i], index: i) }
                results.withLock { $0[i] = r }
            }
        }
        var out: [(File, rows: Int)] = []
        for (i, r) in results.withLock({ $0 }).enumerated() {
            switch r {
            case .success(let n): out.append((files[i], n))
            case .failure(let e):
                for f in files { unlink(f.path) }   // no partial fleet left behind
                throw e
            }
        }
        return out
    }

    /// Simulates one file's packets, runs them through the extractor, writes the device's rows.
    func write(_ file: File, index: Int) throws -> Int {
        let addresses = AddressTable()
        let profile = devices[file.device]
        var sim = TrafficSimulator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 7919 &+ 1, addresses: addresses, device: profile)
        let (packets, skip) = sim.simulate(profile, rows: file.attack == nil ? benignRows : attackRows, attack: file.attack)
        var extractor = FeatureExtractor(mode: mode, addresses: addresses)
        let sink = try TextSink(path: file.path)
        sink.write((FeatureNames.all + ["timestamp"]).joined(separator: ",") + "\n")
        var row = [Double](repeating: 0, count: FeatureNames.count)
        var line = [UInt8]()
        var seen = 0, rows = 0
        for lp in packets {
            row.withUnsafeMutableBufferPointer { extractor.process(lp.packet, into: $0.baseAddress!) }
            guard lp.isDeviceTraffic else { continue }
            seen += 1
            if seen <= skip { continue }
            line.removeAll(keepingCapacity: true)
            for v in row { NumberFormatting.append(v, to: &line); line.append(0x2C) }
            NumberFormatting.append(lp.packet.time, to: &line)
            line.append(0x0A)
            line.withUnsafeBufferPointer { sink.write(bytes: $0) }
            rows += 1
        }
        try sink.close()
        return rows
    }
}
