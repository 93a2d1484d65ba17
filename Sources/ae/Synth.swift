import ArgumentParser
import Foundation
import TrafficFeatures

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a doorbell's benign and Gafgyt traffic and write Kaggle-schema train/test CSVs, or a fleet of devices in the UCI layout.",
        discussion: """
            --fleet DIR writes DIR/<device>/benign_traffic.csv, DIR/<device>/gafgyt_attacks/{combo,junk,scan,tcp,udp}.csv \
            and DIR/<device>/mirai_attacks/{ack,scan,syn,udp,udpplain}.csv: the 115 features and a timestamp column, \
            in time order, for --devices device types (5 by default, up to 9), --rows benign rows and \
            --attack-rows rows per attack file each.
            """)

    @Option(help: "Output directory.") var out: String = "data"
    @Option(help: "Random seed (the test file uses a different seed derived from it).") var seed: UInt64 = 1
    @Option(help: "Training rows.") var rows: Int = 40_000
    @Option(name: .customLong("test-rows"), help: "Test rows (default: 3/8 of --rows, ≈ 15,000).") var testRows: Int?
    @Option(name: .customLong("attack-share"), help: "Share of attack rows, 0.1–0.3.") var attackShare: Double = 0.2
    @Option(help: "nbaiot (default) or kitsune feature semantics.") var compat: String = "nbaiot"
    @Option(name: .customLong("inject-into"), help: "Instead of simulating benign traffic, inject the attacks into this real benign capture (tshark fields CSV/TSV).")
    var injectInto: String?
    @Option(help: "With --inject-into: the infected host's IP (default: the capture's busiest sender).") var device: String?
    @Option(help: "Write a fleet of devices in the UCI layout into this folder instead.") var fleet: String?
    @Option(help: "With --fleet: how many device types (1–9).") var devices: Int = 5
    @Option(name: .customLong("attack-rows"), help: "With --fleet: rows per attack file; with --gateway: the attack's device packets.") var attackRows: Int = 5000
    @Option(help: "Write what a gateway captures from a fleet (--devices, --rows benign device packets each) as this pcap, an attack on one device included, and FILE.devices.json beside it.")
    var gateway: String?
    @Option(help: "With --gateway: the attack, family/class (gafgyt/combo … mirai/udpplain).") var attack: String = "mirai/scan"
    @Option(help: "With --gateway: the infected device's name (default: the first).") var attacked: String?
    @Flag(help: "Overwrite existing files.") var force = false

    static let trainName = "gafgyt_danmini_doorbell_train.csv"
    static let testName = "gafgyt_danmini_doorbell_test.csv"

    func run() throws {
        guard let mode = FeatureExtractor.Mode(rawValue: compat) else { throw CLIError("--compat must be nbaiot or kitsune") }
        guard rows >= 10, (testRows ?? 10) >= 10 else { throw CLIError("--rows and --test-rows must be at least 10") }
        guard attackShare >= 0.05, attackShare <= 0.5 else { throw CLIError("--attack-share must be in 0.05…0.5") }
        if let gateway {
            guard (1...DeviceProfile.fleet.count).contains(devices) else { throw CLIError("--devices must be in 1…\(DeviceProfile.fleet.count), got \(devices)") }
            guard attackRows >= 10 else { throw CLIError("--attack-rows must be at least 10") }
            let fleet = Array(DeviceProfile.fleet.prefix(devices))
            guard let chosen = FleetAttack.all.first(where: { $0.description == attack }) else {
                throw CLIError("--attack must be one of \(FleetAttack.all.map(\.description).joined(separator: ", ")), got '\(attack)'")
            }
            let index = try attacked.map { name in
                guard let i = fleet.firstIndex(where: { $0.name == name }) else {
                    throw CLIError("--attacked: no device '\(name)' among \(fleet.map(\.name).joined(separator: ", "))")
                }
                return i
            } ?? 0
            let start = Date()
            let writer = GatewayWriter(devices: fleet, benignRows: rows, attackRows: attackRows, attack: chosen, attacked: index, seed: seed)
            let summary = try writer.run(path: gateway, force: force)
            print("\(gateway): \(summary.packets) packets from \(fleet.count) device(s); \(fleet[index].name) runs \(chosen) from t = \(String(format: "%.3f", summary.attackStart))")
            print("\(summary.devicesFile): each device's MAC → its model")
            print(String(format: "in %.2f s", Date().timeIntervalSince(start)))
            return
        }
        if let fleet {
            guard (1...DeviceProfile.fleet.count).contains(devices) else { throw CLIError("--devices must be in 1…\(DeviceProfile.fleet.count), got \(devices)") }
            guard attackRows >= 10 else { throw CLIError("--attack-rows must be at least 10") }
            let start = Date()
            let writer = FleetWriter(folder: fleet, devices: Array(DeviceProfile.fleet.prefix(devices)), benignRows: rows,
                                     attackRows: attackRows, seed: seed, mode: mode, force: force)
            let written = try writer.run()
            for d in writer.devices {
                let mine = written.filter { $0.0.path.contains("/\(d.name)/") }
                print("\((fleet as NSString).appendingPathComponent(d.name))/: \(mine.first { $0.0.attack == nil }!.rows) benign rows, "
                      + "\(mine.filter { $0.0.attack != nil }.map(\.rows).reduce(0, +)) attack rows in \(mine.count - 1) files")
            }
            print(String(format: "in %.2f s", Date().timeIntervalSince(start)))
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let trainPath = (out as NSString).appendingPathComponent(Self.trainName)
        let testPath = (out as NSString).appendingPathComponent(Self.testName)
        try Output.checkWritable(trainPath, force: force)
        try Output.checkWritable(testPath, force: force)
        let start = Date()

        if let injectInto {
            let addresses = AddressTable()
            var reader = PacketReader(path: injectInto, addresses: addresses)
            let capture = try reader.readAll()
            let deviceID: Int32
            if let device {
                deviceID = addresses.intern(device)
                guard capture.contains(where: { $0.srcIP == deviceID }) else { throw CLIError("--device \(device) never sends in \(injectInto)") }
            } else {
                var counts: [Int32: Int] = [:]
                for p in capture { counts[p.srcIP, default: 0] += 1 }
                deviceID = counts.max { $0.value < $1.value }!.key
            }
            var sim = TrafficSimulator(seed: seed, addresses: addresses, attackShare: attackShare)
            guard let merged = sim.inject(into: capture, device: deviceID) else { throw CLIError("\(injectInto): no packets") }
            let split = merged.count * 2 / 3
            var extractor = FeatureExtractor(mode: mode, addresses: addresses)
            let sinks = try (TextSink(path: trainPath), TextSink(path: testPath))
            let counts = write(merged, extractor: &extractor) { i in i < split ? sinks.0 : sinks.1 }
            try sinks.0.close(); try sinks.1.close()
            print("Injected attacks from \(addresses.name(deviceID)) into \(capture.count) real packets from \(injectInto)")
            report(trainPath, counts.0, testPath, counts.1, start)
            return
        }

        var results: [(Int, Int)] = []
        for (path, n, s) in [(trainPath, rows, seed), (testPath, testRows ?? rows * 3 / 8, seed &* 0x9E37_79B9 &+ 7919)] {
            let addresses = AddressTable()
            var sim = TrafficSimulator(seed: s, addresses: addresses, attackShare: attackShare)
            let packets = sim.generate(rows: n)
            var extractor = FeatureExtractor(mode: mode, addresses: addresses)
            let sink = try TextSink(path: path)
            let c = write(packets, extractor: &extractor) { _ in sink }
            try sink.close()
            results.append(c.0.rows > 0 ? (c.0.rows, c.0.attacks) : (0, 0))
        }
        report(trainPath, (results[0].0, results[0].1), testPath, (results[1].0, results[1].1), start)
    }

    /// Runs every packet through the extractor; writes the device's rows (features + target).
    /// Returns (rows, attack rows) per sink (the first sink and any other).
    func write(_ packets: [TrafficSimulator.LabelledPacket], extractor: inout FeatureExtractor,
               sink: (Int) -> TextSink) -> ((rows: Int, attacks: Int), (rows: Int, attacks: Int)) {
        var row = [Double](repeating: 0, count: FeatureNames.count)
        var line = [UInt8]()
        var headerWritten = Set<ObjectIdentifier>()
        var first: TextSink? = nil
        var counts = ((rows: 0, attacks: 0), (rows: 0, attacks: 0))
        for (i, lp) in packets.enumerated() {
            row.withUnsafeMutableBufferPointer { extractor.process(lp.packet, into: $0.baseAddress!) }
            guard lp.isDeviceTraffic else { continue }
            let s = sink(i)
            if first == nil { first = s }
            if headerWritten.insert(ObjectIdentifier(s)).inserted { s.write((FeatureNames.all + ["target"]).joined(separator: ",") + "\n") }
            line.removeAll(keepingCapacity: true)
            for v in row { NumberFormatting.append(v, to: &line); line.append(0x2C) }
            line.append(contentsOf: String(lp.label).utf8)
            line.append(0x0A)
            line.withUnsafeBufferPointer { s.write(bytes: $0) }
            if s === first { counts.0.rows += 1; counts.0.attacks += lp.label != 0 ? 1 : 0 } else { counts.1.rows += 1; counts.1.attacks += lp.label != 0 ? 1 : 0 }
        }
        return counts
    }

    func report(_ a: String, _ ca: (Int, Int), _ b: String, _ cb: (Int, Int), _ start: Date) {
        func pct(_ c: (Int, Int)) -> String { String(format: "%.1f%%", 100 * Double(c.1) / Double(max(c.0, 1))) }
        print("\(a): \(ca.0) rows, \(ca.1) attack (\(pct(ca)))")
        print("\(b): \(cb.0) rows, \(cb.1) attack (\(pct(cb)))")
        print(String(format: "in %.2f s", Date().timeIntervalSince(start)))
    }
}
