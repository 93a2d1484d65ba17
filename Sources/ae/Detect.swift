import ArgumentParser
import AutoencoderCore
import Foundation
import TrafficFeatures

/// `ae detect`: a capture in, alerts out, as a gateway would run it offline. Every packet goes
/// through the feature extractor (the statistics are the whole capture's), then to the model of
/// the device it belongs to (`DeviceMap`), then into that device's window vote with the model's
/// `ws*` (`WindowVote.Stream`: `ae evaluate`'s rule, one packet at a time). A run of anomalous
/// windows is one alert.
struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a capture's packets with each device's model and raise window-voted alerts (JSON Lines).",
        discussion: """
        --devices is a JSON object mapping each device's MAC or IP address to its model's name, \
        the file <name>.safetensors in --models (e.g. {"5c:cf:7f:05:f2:c6": "doorbell"}). A packet \
        belongs to the device named by its source MAC, source IP, destination MAC or destination IP, \
        the first that is listed. Packets of other hosts are counted and skipped, or, with \
        --default-model, scored by that model, one window sequence per source MAC. Such hosts are \
        let go when idle for --idle-timeout, and, past --max-hosts, those idle the longest (their \
        open alert is written first): a flood of spoofed source MACs cannot exhaust memory.

        An alert is a run of consecutive anomalous windows of one device: its first and last packet \
        (the last packet of the first and of the last anomalous window), their times, the windows, \
        the largest MSE in the run and the features that explain it. Alerts go to stdout (or \
        --alerts FILE), one JSON object per line, as each run ends; the per-device summary goes to \
        stderr (stdout with --alerts).
        """)

    @Option(help: "The capture: pcap or pcapng (Ethernet), read through libpcap.") var pcap: String?
    @Option(help: "Capture live from this network interface instead (Ethernet; root or CAP_NET_RAW), until SIGINT/SIGTERM, --count or --duration.")
    var interface: String?
    @Option(help: "Stop after this many packets.") var count: Int?
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "Folder of models: <name>.safetensors is model <name> (from `ae train --data`).") var models: String
    @Option(help: "JSON object: device MAC or IP address → model name.") var devices: String?
    @Option(name: .customLong("default-model"), help: "Score packets of hosts not in --devices with this model (default: skip them).")
    var defaultModel: String?
    @Option(help: "Write the alerts (JSON Lines) to this file instead of stdout.") var alerts: String?
    @Option(help: "Write each scored packet's MSE to this CSV (packet, time, device, model, mse, anomaly).") var scores: String?
    @Option(help: "nbaiot (the published data, default) or kitsune (Kitsune-py to the bit).") var compat: String = "nbaiot"
    @Option(name: .customLong("idle-timeout"), help: "Drop streams idle this many seconds (0 keeps all, as Kitsune).")
    var idleTimeout: Double = 3600
    @Option(name: .customLong("max-streams"), help: "Most streams held at once, all feature groups together (about 400 B each); past it, those idle the longest are dropped until 3/4 remain.")
    var maxStreams: Int = FeatureExtractor.defaultMaxStreams
    @Option(name: .customLong("max-hosts"), help: "With --default-model: most hosts held at once; past it, those idle the longest are let go.")
    var maxHosts: Int = 10_000
    @Option(name: .customLong("warm-up"), help: "Seconds from the capture's first packet whose packets only warm the extractor's statistics up (not scored).")
    var warmUp: Double = 0
    @Flag(name: .customLong("skip-bad"), help: "Skip malformed records (counted) instead of stopping.") var skipBad = false
    @Flag(help: "Overwrite --alerts and --scores files if they exist.") var force = false

    func run() throws {
        guard let mode = FeatureExtractor.Mode(rawValue: compat) else { throw CLIError("--compat must be nbaiot or kitsune, got '\(compat)'") }
        guard idleTimeout >= 0, idleTimeout.isFinite else { throw CLIError("--idle-timeout must be ≥ 0") }
        guard warmUp >= 0, warmUp.isFinite else { throw CLIError("--warm-up must be ≥ 0 seconds") }
        guard maxHosts >= 1 else { throw CLIError("--max-hosts must be at least 1") }
        guard maxStreams >= FeatureExtractor.minimumMaxStreams else { throw CLIError("--max-streams must be at least \(FeatureExtractor.minimumMaxStreams)") }
        guard (pcap == nil) != (interface == nil) else { throw CLIError("give --pcap FILE (a capture) or --interface IF (live), one of them") }
        if let count, count < 1 { throw CLIError("--count must be at least 1") }
        if let duration, !(duration > 0 && duration.isFinite) { throw CLIError("--duration must be > 0 seconds") }
        guard devices != nil || defaultModel != nil else {
            throw CLIError("give --devices FILE (device address → model) or --default-model NAME, or both")
        }
        for path in [alerts, scores].compactMap({ $0 }) { try Output.checkWritable(path, force: force) }
        if let alerts, alerts == scores { throw CLIError("--alerts and --scores name the same file") }

        let addresses = AddressTable()
        let map = try DeviceMap(devices.map(Self.readDevices) ?? [], source: devices ?? "", addresses: addresses)
        var loaded: [String: ModelRun] = [:]
        func model(_ name: String, for what: String) throws -> ModelRun {
            if let m = loaded[name] { return m }
            guard DeviceMap.isModelName(name) else { throw CLIError("\(what): '\(name)' is not a model name (1–64 of A–Z a–z 0–9 _ . -)") }
            let path = (models as NSString).appendingPathComponent(name + ".safetensors")
            guard FileManager.default.fileExists(atPath: path) else {
                let have = ((try? FileManager.default.contentsOfDirectory(atPath: models)) ?? [])
                    .filter { $0.hasSuffix(".safetensors") }.map { String($0.dropLast(12)) }.sorted()
                throw CLIError("\(what): no model '\(name)' in \(models) (\(have.isEmpty ? "it has none" : "it has " + have.joined(separator: ", ")))")
            }
            let m = try ModelRun(name: name, path: path)
            loaded[name] = m
            return m
        }
        let listed = try map.devices.map { d in DeviceRun(label: d.address, model: try model(d.model, for: "\(devices!): '\(d.address)'")) }
        let fallback = try defaultModel.map { try model($0, for: "--default-model") }
        var router = DeviceRouter(map: map, listed: listed, warmUp: warmUp, idleTimeout: idleTimeout, maxHosts: maxHosts,
                                  newHost: fallback.map { m in { DeviceRun(label: addresses.name($0), model: m) } })
        var gone = HostsLetGo()

        let alertSink = try TextSink(path: alerts)
        let scoreSink = try scores.map { try TextSink(path: $0) }
        scoreSink?.write("packet,time,device,model,mse,anomaly\n")
        var extractor = FeatureExtractor(mode: mode, idleTimeout: idleTimeout, maxStreams: maxStreams, addresses: addresses)
        var capture = pcap.map { CaptureReader(path: $0, skipBad: skipBad, addresses: addresses) }
            ?? CaptureReader(interface: interface!, addresses: addresses)
        if capture.isLive {
            // SIGINT and SIGTERM end a live capture: what the interface has delivered is scored,
            // the open alerts and the table are written, and the exit is 0. (On a file they keep
            // their default action.)
            trapStopSignals { _ in CaptureReader.interrupt() }
        }
        let live = capture.isLive
        let deadline = duration.map { Date().addingTimeInterval($0) }
        let limit = count ?? .max
        var packets = 0
        capture.shouldStop = { delivered in
            delivered >= limit || deadline.map { Date() >= $0 } == true
        }
        if capture.isLive { capture.onOpen = { Output.stderr("capturing on \(interface!)\n") } }
        var row = [Double](repeating: 0, count: FeatureNames.count)
        let start = Date()
        /// A scored packet into its device's window vote (`slot`: its row among its model's staged ones).
        func vote(_ run: DeviceRun, packet: Int, time: Double, mse: Float, slot: Int) {
            // A score that is not a number (features far outside what the model saw) counts
            // as anomalous: it is anything but normal traffic.
            let flag = !(mse <= run.model.threshold)
            run.packets += 1
            if let scoreSink {
                scoreSink.write("\(packet),\(time),\(run.label),\(run.model.name),\(mse),\(flag ? 1 : 0)\n")
            }
            switch run.stream.add(flag) {
            case true?: run.extend(packet: packet, time: time, mse: mse, slot: slot)
            case false?:
                if let alert = run.close() {
                    alertSink.write(alert)
                    if live { alertSink.flush() }   // a live alert is read as it happens
                }
            case nil: break
            }
        }
        // From a file, packets wait in `queue` (capture order) until `ModelRun.capacity` have come;
        // then each model scores its waiting rows in one pass (the dense kernel reads a layer's
        // weights once for all of them; a row's bits do not depend on the rows beside it) and the
        // packets are voted in capture order. Live, each packet is scored as it comes.
        // The queue holds its runs unretained: the router holds each of them until it is voted (a
        // run let go waits in `router.retired` until the queue is scored), and a retain and a
        // release a packet were 4% of the time.
        var queue: [(run: Unmanaged<DeviceRun>, packet: Int, time: Double, slot: Int)] = []
        queue.reserveCapacity(ModelRun.capacity)
        var waiting: [ModelRun] = []   // the models with rows staged
        func scoreQueue() {
            for m in waiting { m.scoreStaged() }
            waiting.removeAll(keepingCapacity: true)
            for q in queue {
                q.run._withUnsafeGuaranteedRef { run in
                    vote(run, packet: q.packet, time: q.time, mse: run.model.errors[q.slot], slot: q.slot)
                }
            }
            queue.removeAll(keepingCapacity: true)
        }
        func letGo(_ run: DeviceRun) {
            if let alert = run.close(ended: false) {
                alertSink.write(alert)
                if live { alertSink.flush() }
            }
            gone.add(rows: run.packets, vote: run.stream, alerts: run.alerts)
        }
        try row.withUnsafeMutableBufferPointer { row in
            try capture.forEach { p in
                packets += 1
                extractor.collectAddresses(keeping: p) { router.markAddresses(&$0) }   // hosts' and devices' ids stay
                extractor.process(p, into: row.baseAddress!)
                guard let run = router.device(of: p) else { return }
                let model = run.model
                if model.staged == 0 { waiting.append(model) }
                queue.append((Unmanaged.passUnretained(run), packets, p.time, model.stage(UnsafePointer(row.baseAddress!))))
                if live || queue.count == ModelRun.capacity { scoreQueue() }
                // Hosts let go close their alert once their last packet is voted.
                if !router.retired.isEmpty {
                    scoreQueue()
                    for r in router.takeRetired() { letGo(r) }
                }
            }
        }
        scoreQueue()
        let runs = router.devices
        for run in runs { if let alert = run.close(ended: false) { alertSink.write(alert) } }
        try alertSink.close()
        try scoreSink?.close()
        let seconds = Date().timeIntervalSince(start)

        let table = Table(header: ["device", "model", "ws", "packets", "windows", "anomalous", "alerts"],
                          rows: runs.map { r in
                              [r.label, r.model.name, String(r.model.windowSize), String(r.packets), String(r.stream.windows),
                               String(r.stream.anomalous), String(r.alerts)]
                          } + gone.tableRows(model: defaultModel ?? "", windowSize: fallback?.windowSize ?? 1))
        var summary = table.text + "\n"
        summary += "\(packets) packets in \(String(format: "%.2f", seconds)) s (\(Int(Double(packets) / max(seconds, 1e-9))) packets/s)"
        summary += ", \(runs.reduce(gone.alerts) { $0 + $1.alerts }) alert(s)"
        if extractor.budgetEvictions > 0 { summary += "; the stream budget shed streams \(extractor.budgetEvictions) times" }
        if router.warming > 0 { summary += "; \(router.warming) in the warm-up, not scored" }
        if capture.dropped > 0 { summary += "; \(capture.dropped) dropped by the kernel (the capture fell behind)" }
        if router.unmapped > 0 { summary += "; \(router.unmapped) from hosts with no device, skipped (--default-model scores them)" }
        summary += "\n"
        if capture.skipped > 0 {
            summary += "skipped \(capture.skipped) malformed record(s), e.g.:\n" + capture.skippedMessages.map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        if alerts == nil { Output.stderr(summary) } else { print(summary, terminator: "") }
    }

    /// The devices file: a JSON object of address → model name, in the file's order.
    static func readDevices(_ path: String) throws -> [(address: String, model: String)] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read the file") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw CLIError("\(path): not valid JSON (\(error.localizedDescription))")
        }
        guard let entries = object as? [String: Any] else {
            throw CLIError("\(path): expected a JSON object mapping device addresses to model names")
        }
        if entries.isEmpty { throw CLIError("\(path): lists no device") }
        return try entries.keys.sorted().map { key in
            guard let model = entries[key] as? String else { throw CLIError("\(path): '\(key)': the model name must be a string") }
            return (key, model)
        }
    }
}

/// One model as `ae detect` runs it: its weights in memory of their own (`FrozenModel`), where
/// each of its features is in the extractor's row, and the buffers of the rows it scores at once.
final class ModelRun {
    let name: String
    let threshold: Float
    let windowSize: Int
    /// The model's feature names as JSON string literals, for the alerts.
    let quotedFeatureNames: [String]
    private let frozen: FrozenModel
    /// Rows scored at once, at most: the dense kernel then reads each block of a layer's weights
    /// from the nearest cache for all but the first group of rows (two rows at a time with
    /// AVX2, four with AVX-512). Between passes the extractor's streams push the weights (80 KB)
    /// out of the first-level cache, so fewer, larger passes pay that less often: 64 against 16
    /// made `ae detect` 1.02× faster on the ×20 capture and 1.04× on the gateway capture, where
    /// the queue's rows are shared among its devices' models; 32 and 128 were no different from 64.
    static let capacity = 64
    /// For each model input, its column in the extractor's row; nil when they are the same
    /// (a model of all 115 features in the extractor's order, as `ae train` makes from `ae
    /// features`), so that a row is scaled straight from the extractor's.
    private let columns: UnsafeMutablePointer<Int>?
    /// Plain memory, not arrays: an array's every write checked that it was not shared (a call
    /// into the Swift runtime, several a packet), and nothing here is.
    /// `n`: a row gathered in the model's column order, when `columns` is not nil.
    private let raw: UnsafeMutablePointer<Double>?
    /// `capacity × n`: the staged rows, scaled.
    let scaled: UnsafeMutablePointer<Float>
    /// `capacity`: the staged rows' MSEs, after `scoreStaged`.
    let errors: UnsafeMutablePointer<Float>
    /// `capacity × activationsPerRow`: every layer's outputs of the last pass.
    private let activations: UnsafeMutablePointer<Float>
    /// After `scoreStaged`, the staged rows' reconstructions (`rows × n`, in `activations`, not
    /// copied out: only an alert's rows are read).
    private(set) var reconstruction: UnsafePointer<Float>
    /// Rows staged since the last `scoreStaged`.
    @exclusivity(unchecked) private(set) var staged = 0

    init(name: String, path: String) throws {
        let model = try ModelFile.read(path: path)
        let position = Dictionary(uniqueKeysWithValues: FeatureNames.all.enumerated().map { ($1, $0) })
        let columns = try model.featureNames.map { f in
            guard let j = position[f] else { throw CLIError("\(path): feature '\(f)' is not one of the 115 the extractor gives") }
            return j
        }
        self.name = name
        threshold = model.threshold
        windowSize = model.window?.size ?? 1
        quotedFeatureNames = model.featureNames.map(DeviceRun.quoted)
        frozen = FrozenModel(model)
        let n = columns.count
        func zeroed<T: Numeric>(_ count: Int) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        if columns == Array(0..<n) {
            self.columns = nil
            raw = nil
        } else {
            self.columns = .allocate(capacity: n)
            self.columns!.initialize(from: columns, count: n)
            raw = zeroed(n)
        }
        scaled = zeroed(Self.capacity * n)
        errors = zeroed(Self.capacity)
        activations = zeroed(Self.capacity * frozen.activationsPerRow)
        reconstruction = UnsafePointer(activations)
    }

    deinit {
        columns?.deallocate()
        raw?.deallocate()
        scaled.deallocate()
        errors.deallocate()
        activations.deallocate()
    }

    /// Takes one extractor row's features, scaled, as the next row to score; returns its slot.
    func stage(_ row: UnsafePointer<Double>) -> Int {
        precondition(staged < Self.capacity)
        let n = frozen.inputSize, slot = staged
        var values = row
        if let columns, let raw {
            for j in 0..<n { raw[j] = row[columns[j]] }
            values = UnsafePointer(raw)
        }
        frozen.scale(UnsafeBufferPointer(start: values, count: n), into: scaled + slot * n)
        staged += 1
        return slot
    }

    /// Scores the staged rows in one pass: their MSEs in `errors`, their reconstructions in
    /// `reconstruction`, readable until the next `stage`.
    func scoreStaged() {
        let rows = staged
        staged = 0
        frozen.reconstruct(scaled, rows: rows, into: nil, errors: errors, activations: activations, capacity: Self.capacity)
        reconstruction = frozen.reconstructions(in: activations, rows: rows)
    }
}

/// One device's window vote and the alert it has open.
final class DeviceRun {
    let label: String
    let model: ModelRun
    @exclusivity(unchecked) var stream: WindowVote.Stream
    @exclusivity(unchecked) var packets = 0
    @exclusivity(unchecked) var alerts = 0
    @exclusivity(unchecked) private var open: (firstPacket: Int, firstTime: Double, lastPacket: Int, lastTime: Double, windows: Int, maxMSE: Float, top: String)?

    init(label: String, model: ModelRun) {
        self.label = label
        self.model = model
        stream = WindowVote.Stream(size: model.windowSize)
    }

    /// An anomalous window ended at this packet: open an alert, or extend the open one.
    func extend(packet: Int, time: Double, mse: Float, slot: Int) {
        var a = open ?? (packet, time, packet, time, 0, -.infinity, "")
        a.lastPacket = packet
        a.lastTime = time
        a.windows += 1
        if !(mse <= a.maxMSE) {
            a.maxMSE = mse
            let n = model.quotedFeatureNames.count
            let top = TopErrors(UnsafeBufferPointer(start: model.scaled + slot * n, count: n),
                                UnsafeBufferPointer(start: model.reconstruction + slot * n, count: n))
            a.top = (0..<top.count).map { i in
                #"{"name":\#(model.quotedFeatureNames[top.index[i]]),"error":\#(Self.number(top.error[i]))}"#
            }.joined(separator: ",")
        }
        open = a
    }

    /// The open alert as a JSON line, and no alert open; nil if none was. `ended`: a benign
    /// window closed it (false: the capture ended during it).
    func close(ended: Bool = true) -> String? {
        guard let a = open else { return nil }
        open = nil
        alerts += 1
        return #"{"device":\#(Self.quoted(label)),"model":\#(Self.quoted(model.name)),"first_packet":\#(a.firstPacket),"#
            + #""last_packet":\#(a.lastPacket),"first_time":\#(a.firstTime),"last_time":\#(a.lastTime),"windows":\#(a.windows),"#
            + #""window_size":\#(model.windowSize),"max_mse":\#(Self.number(a.maxMSE)),"threshold":\#(Self.number(model.threshold)),"#
            + #""top_features":[\#(a.top)],"ended":\#(ended)}"# + "\n"
    }

    /// A JSON number, or null for what JSON cannot write (a score past Float's range).
    static func number(_ x: Float) -> String { x.isFinite ? x.description : "null" }

    /// `s` as a JSON string literal. (Addresses, model and feature names: no need for more than
    /// the escapes JSON requires.)
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where c.value < 0x20: out += String(format: "\\u%04x", c.value)
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}
