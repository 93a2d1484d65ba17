import ArgumentParser
import AutoencoderCore
import Configuration
import Foundation
import Synchronization
import TrafficFeatures

/// `ae agent`: what a gateway runs. Packets in (a live interface or a capture), the 115 features
/// computed here, the rows of each model's devices batched in capture order and sent to the
/// service (OIP v2, FP64 binary tensors: no number is written as text), each row's verdict voted
/// over its device's window here (windows span batches), alerts out.
struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture, compute features, send each device's rows to ae-server in batches, and raise window-voted alerts.",
        discussion: """
        Devices and models as for `ae detect` (--devices: device MAC or IP → model name; \
        --default-model for other hosts); the models are the server's (GET /v1/models/{name} gives \
        their features, threshold and ws*). Rows are batched per model (the rows of all the \
        devices it scores, in capture order) and go out when --batch of them are buffered or the \
        oldest has waited --flush-ms. Batches wait in a queue of at most \
        --queue-rows rows for one sender on one keep-alive connection; a connection failure or a \
        5xx is retried with backoff (0.1 s doubling to 2 s) for as long as it takes. When the \
        queue is full, a capture file waits; a live capture drops the new batch. Every dropped row \
        is counted by reason (queue_full, rejected: the service answered 4xx, shutdown) and logged. \
        SIGINT/SIGTERM: the capture stops, buffered rows are sent (for at most --drain-seconds), \
        the open alerts and the summary are written, exit 0.

        Hosts scored by --default-model are let go when idle for --idle-timeout and, past \
        --max-hosts, those idle the longest (their buffered rows are sent and their open alert \
        closed first): a flood of spoofed source MACs cannot exhaust the gateway's memory.
        """)

    @Option(help: "A capture file (pcap or pcapng) to read instead of an interface.") var pcap: String?
    @Option(help: "Capture live from this interface (root or CAP_NET_RAW).") var interface: String?
    @Option(help: "Stop after this many packets.") var count: Int?
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "A JSON file of settings (keys as the flags, snake_case: server, batch, flush_ms, …); AE_AGENT_* variables override it, flags override both.")
    var config: String?
    @Option(name: .customLong("server"), help: "The service: http://HOST:PORT of ae-server.") var serverFlag: String?
    @Option(name: .customLong("devices"), help: "JSON object: device MAC or IP address → model name.") var devicesFlag: String?
    @Option(name: .customLong("default-model"), help: "Send rows of hosts not in --devices to this model (default: skip them).")
    var defaultModelFlag: String?
    @Option(name: .customLong("batch"), help: "Rows per batch (default 256).") var batchFlag: Int?
    @Option(name: .customLong("flush-ms"), help: "Send a device's rows when the oldest has waited this long (default 200).") var flushMsFlag: Int?
    @Option(name: .customLong("queue-rows"), help: "Most rows waiting to be sent; bounds memory (default 16384).") var queueRowsFlag: Int?
    @Option(name: .customLong("drain-seconds"), help: "At the end, how long buffered rows may take to be sent (default 10).") var drainSecondsFlag: Double?
    @Option(name: .customLong("alerts"), help: "Write the alerts (JSON Lines) to this file instead of stdout.") var alertsFlag: String?
    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus metrics on this port (GET /metrics; 0 picks one).")
    var metricsPortFlag: Int?
    @Option(name: .customLong("metrics-host"), help: "Address for --metrics-port (default 127.0.0.1).") var metricsHostFlag: String?
    @Option(name: .customLong("token-file"), help: "A file whose first line is the bearer token for the service (or AE_AGENT_TOKEN).")
    var tokenFileFlag: String?
    @Option(help: "nbaiot (the published data, default) or kitsune.") var compat: String = "nbaiot"
    @Option(name: .customLong("warm-up"), help: "Seconds from the first packet whose packets only warm the extractor's statistics up (not sent; default 0).")
    var warmUpFlag: Double?
    @Option(name: .customLong("idle-timeout"), help: "Drop streams idle this many seconds (0 keeps all, as Kitsune; default 3600). Lower bounds memory under a scan.")
    var idleTimeoutFlag: Double?
    @Option(name: .customLong("max-hosts"), help: "With --default-model: most hosts held at once; past it, those idle the longest are let go (default 10000).")
    var maxHostsFlag: Int?
    @Option(name: .customLong("max-streams"), help: "Most streams held at once, all feature groups together (about 400 B each); past it, those idle the longest are dropped (default 500000).")
    var maxStreamsFlag: Int?

    /// The flags given, as configuration overrides.
    var overrides: [String: ConfigValue] {
        var o: [String: ConfigValue] = [:]
        func set(_ key: String, _ content: ConfigContent?) { if let content { o[key] = ConfigValue(content, isSecret: false) } }
        set("server", serverFlag.map { .string($0) })
        set("devices", devicesFlag.map { .string($0) })
        set("default_model", defaultModelFlag.map { .string($0) })
        set("batch", batchFlag.map { .int($0) })
        set("flush_ms", flushMsFlag.map { .int($0) })
        set("queue_rows", queueRowsFlag.map { .int($0) })
        set("drain_seconds", drainSecondsFlag.map { .double($0) })
        set("warm_up", warmUpFlag.map { .double($0) })
        set("idle_timeout", idleTimeoutFlag.map { .double($0) })
        set("max_hosts", maxHostsFlag.map { .int($0) })
        set("max_streams", maxStreamsFlag.map { .int($0) })
        set("alerts", alertsFlag.map { .string($0) })
        set("metrics_port", metricsPortFlag.map { .int($0) })
        set("metrics_host", metricsHostFlag.map { .string($0) })
        set("token_file", tokenFileFlag.map { .string($0) })
        return o
    }
    @Flag(name: .customLong("skip-bad"), help: "Skip malformed capture records (counted).") var skipBad = false
    @Flag(help: "Overwrite --alerts if it exists.") var force = false

    func run() throws {
        let settings = try AgentSettings.load(file: config, overrides: overrides)
        guard let server = settings.server else { throw CLIError("give --server http://HOST:PORT (or server in --config, or AE_AGENT_SERVER)") }
        let devices = settings.devices, defaultModel = settings.defaultModel, alerts = settings.alerts, tokenFile = settings.tokenFile
        let batch = settings.batch, flushMs = settings.flushMs, queueRows = settings.queueRows, drainSeconds = settings.drainSeconds
        let warmUp = settings.warmUp, idleTimeout = settings.idleTimeout, maxHosts = settings.maxHosts, maxStreams = settings.maxStreams, metricsPort = settings.metricsPort, metricsHost = settings.metricsHost
        guard let mode = FeatureExtractor.Mode(rawValue: compat) else { throw CLIError("--compat must be nbaiot or kitsune, got '\(compat)'") }
        guard (pcap == nil) != (interface == nil) else { throw CLIError("give --pcap FILE or --interface IF, one of them") }
        guard devices != nil || defaultModel != nil else { throw CLIError("give --devices FILE or --default-model NAME, or both") }
        guard (1...4096).contains(batch) else { throw CLIError("--batch must be 1…4096 rows") }
        guard flushMs >= 1 else { throw CLIError("--flush-ms must be at least 1") }
        guard queueRows >= batch else { throw CLIError("--queue-rows must be at least --batch (\(batch))") }
        guard drainSeconds >= 0, drainSeconds.isFinite else { throw CLIError("--drain-seconds must be ≥ 0") }
        guard warmUp >= 0, warmUp.isFinite else { throw CLIError("--warm-up must be ≥ 0 seconds") }
        guard idleTimeout >= 0, idleTimeout.isFinite else { throw CLIError("--idle-timeout must be ≥ 0 seconds") }
        guard maxHosts >= 1 else { throw CLIError("--max-hosts must be at least 1") }
        guard maxStreams >= FeatureExtractor.minimumMaxStreams else { throw CLIError("--max-streams must be at least \(FeatureExtractor.minimumMaxStreams)") }
        if let count, count < 1 { throw CLIError("--count must be at least 1") }
        if let duration, !(duration > 0 && duration.isFinite) { throw CLIError("--duration must be > 0 seconds") }
        if let metricsPort, !(0...65535).contains(metricsPort) { throw CLIError("--metrics-port must be 0…65535") }
        if let alerts { try Output.checkWritable(alerts, force: force) }
        var token = ProcessInfo.processInfo.environment["AE_AGENT_TOKEN"]
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw CLIError("\(tokenFile): cannot read the token file") }
            token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) }
        }

        let addresses = AddressTable()
        let map = try DeviceMap(devices.map(Detect.readDevices) ?? [], source: devices ?? "", addresses: addresses)
        let probe = try ServiceClient(url: server)
        var models: [String: ModelBuffer] = [:]
        func model(_ name: String, for what: String) throws -> ModelBuffer {
            if let m = models[name] { return m }
            guard DeviceMap.isModelName(name) else { throw CLIError("\(what): '\(name)' is not a model name (1–64 of A–Z a–z 0–9 _ . -)") }
            let m = ModelBuffer(model: try ServedModel.fetch(name, from: probe, token: token, for: what))
            models[name] = m
            return m
        }
        let listed = try map.devices.map { d in AgentDevice(label: d.address, buffer: try model(d.model, for: "\(devices!): '\(d.address)'")) }
        let fallback = try defaultModel.map { try model($0, for: "--default-model") }
        var router = DeviceRouter(map: map, listed: listed, warmUp: warmUp, idleTimeout: idleTimeout, maxHosts: maxHosts,
                                  newHost: fallback.map { m in { AgentDevice(label: addresses.name($0), buffer: m) } })
        let buffers = models.keys.sorted().map { models[$0]! }

        Output.stderr("ae agent: \(listed.count) device(s)\(fallback != nil ? " and other hosts" : ""), model(s) \(models.keys.sorted().joined(separator: ", ")); sending to \(server)\n")
        let counters = AgentCounters()
        let alertSink = try TextSink(path: alerts)
        let sender = BatchSender(client: try ServiceClient(url: server), token: token, capacity: queueRows, counters: counters, alerts: alertSink)
        let metrics = try metricsPort.map { try MetricsListener(host: metricsHost, port: $0, counters: counters) }
        if let metrics { Output.stderr("metrics on http://\(metricsHost):\(metrics.port)/metrics\n") }

        var extractor = FeatureExtractor(mode: mode, idleTimeout: idleTimeout, maxStreams: maxStreams, addresses: addresses)
        var capture = pcap.map { CaptureReader(path: $0, skipBad: skipBad, addresses: addresses) }
            ?? CaptureReader(interface: interface!, addresses: addresses)
        let live = capture.isLive
        trapStopSignals { _ in CaptureReader.interrupt(); AgentCounters.stopRequested.store(true, ordering: .relaxed) }

        let deadline = duration.map { Date().addingTimeInterval($0) }
        let limit = count ?? .max
        let flushAfter = Double(flushMs) / 1000
        var packets = 0
        /// Hands a model's buffered rows to the sender (waiting for room with a file; dropping
        /// them, counted, live).
        func ship(_ m: ModelBuffer) {
            guard let b = m.take() else { return }
            sender.enqueue(b, wait: !live)
        }
        func flushDue() {
            let now = AgentCounters.now()
            for m in buffers where m.rows > 0 && now - m.since >= flushAfter { ship(m) }
        }
        var lastCheck = AgentCounters.now()
        capture.shouldStop = { delivered in
            let now = AgentCounters.now()
            if now - lastCheck >= 0.01 { lastCheck = now; flushDue() }
            return delivered >= limit || deadline.map { Date() >= $0 } == true || (!live && AgentCounters.stopRequested.load(ordering: .relaxed))
        }
        if live { capture.onOpen = { Output.stderr("ae agent: capturing on \(interface!)\n") } }
        var row = [Double](repeating: 0, count: FeatureNames.count)
        let start = Date()
        try row.withUnsafeMutableBufferPointer { row in
            try capture.forEach { p in
                packets += 1
                counters.packets.add(1, ordering: .relaxed)
                extractor.collectAddresses(keeping: p) { router.markAddresses(&$0) }   // hosts' and devices' ids stay
                extractor.process(p, into: row.baseAddress!)
                guard let d = router.device(of: p) else { return }
                if !router.retired.isEmpty {
                    // Their rows go first (all hosts made on sight share the default model's
                    // buffer), then their alerts are closed, after the answer.
                    ship(fallback!)
                    for gone in router.takeRetired() { sender.letGo(gone) }
                    counters.hostsLetGo.store(router.hostsLetGo, ordering: .relaxed)
                    counters.streamsShed.store(extractor.budgetEvictions, ordering: .relaxed)
                }
                let m = d.buffer
                m.append(UnsafePointer(row.baseAddress!), of: d, packet: packets, time: p.time)
                if m.rows == batch { ship(m) }
                counters.hosts.store(router.hostCount, ordering: .relaxed)
            }
        }
        counters.streamsShed.store(extractor.budgetEvictions, ordering: .relaxed)
        let states = router.devices
        for m in buffers { ship(m) }
        let drained = sender.finish(within: drainSeconds)
        for d in states { if let alert = d.vote.close(ended: false) { alertSink.write(alert) } }
        try alertSink.close()
        metrics?.stop()
        let seconds = Date().timeIntervalSince(start)

        let gone = sender.gone
        let table = Table(header: ["device", "model", "ws", "rows", "windows", "anomalous", "alerts"],
                          rows: states.map { d in
                              [d.label, d.model.name, String(d.model.windowSize), String(d.vote.rows), String(d.vote.stream.windows),
                               String(d.vote.stream.anomalous), String(d.vote.alerts)]
                          } + gone.tableRows(model: fallback?.model.name ?? "", windowSize: fallback?.model.windowSize ?? 1))
        var summary = table.text + "\n"
        summary += "\(packets) packets in \(String(format: "%.2f", seconds)) s; \(counters.rowsSent.load(ordering: .relaxed)) rows sent in "
        summary += "\(counters.batches.load(ordering: .relaxed)) batches, \(counters.retries.load(ordering: .relaxed)) retries"
        summary += ", \(states.reduce(gone.alerts) { $0 + $1.vote.alerts }) alert(s)"
        for (reason, n) in counters.dropSummary() where n > 0 { summary += "; \(n) rows dropped (\(reason))" }
        if !drained { summary += "; the drain timed out" }
        if router.warming > 0 { summary += "; \(router.warming) packets in the warm-up, not sent" }
        if capture.dropped > 0 { summary += "; \(capture.dropped) packets dropped by the kernel" }
        if router.unmapped > 0 { summary += "; \(router.unmapped) packets from hosts with no device, skipped" }
        if extractor.budgetEvictions > 0 { summary += "; the stream budget shed streams \(extractor.budgetEvictions) times" }
        summary += "\n"
        if alerts == nil { Output.stderr(summary) } else { print(summary, terminator: "") }
    }
}

/// A model as the service describes it: where its features are in the extractor's row, its
/// threshold and window.
struct ServedModel: Sendable {
    let name: String
    let columns: [Int]
    let threshold: Float
    let windowSize: Int

    /// `GET /v1/models/{name}`, retried for up to 30 s while the service is not up yet.
    static func fetch(_ name: String, from client: ServiceClient, token: String?, for what: String) throws -> ServedModel {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        var wait = 0.1, waited = 0.0
        while true {
            do {
                let r = try client.request("GET", "/v1/models/\(name)", headers: headers)
                guard r.status == 200 else {
                    let why = ((try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any])?["error"] as? String ?? "status \(r.status)"
                    if r.status >= 500, waited < 30 { throw ServiceClient.Failure(description: why) }
                    throw CLIError("\(what): the service has no model '\(name)': \(why)")
                }
                guard let o = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any],
                      let features = o["feature_names"] as? [String], let threshold = o["threshold"] as? Double else {
                    throw CLIError("\(what): the service's metadata of '\(name)' has no feature_names or threshold")
                }
                let position = Dictionary(uniqueKeysWithValues: FeatureNames.all.enumerated().map { ($1, $0) })
                let columns = try features.map { f in
                    guard let j = position[f] else { throw CLIError("\(what): model '\(name)' takes feature '\(f)', which the extractor does not give") }
                    return j
                }
                return ServedModel(name: name, columns: columns, threshold: Float(threshold), windowSize: o["window_size"] as? Int ?? 1)
            } catch let e as ServiceClient.Failure {
                if waited >= 30 { throw CLIError("\(what): cannot reach the service for model '\(name)': \(e)") }
                Thread.sleep(forTimeInterval: wait)
                waited += wait
                wait = min(wait * 2, 2)
            }
        }
    }
}

/// A device: its label, the buffer of its model, and its window vote over the verdicts that come back.
final class AgentDevice: @unchecked Sendable {
    let label: String
    let buffer: ModelBuffer
    let vote: AgentVote
    var model: ServedModel { buffer.model }

    init(label: String, buffer: ModelBuffer) {
        self.label = label
        self.buffer = buffer
        vote = AgentVote(label: label, model: buffer.model)
    }
}

/// The rows waiting to be sent to one model: those of every device it scores, in capture order,
/// each with its device. One request carries rows of many devices (a gateway's hosts under
/// --default-model, a flood of spoofed senders), so a request per host is never needed.
///
/// Its state is `@exclusivity(unchecked)`, as `ae detect`'s `ModelRun`: appended to for every
/// packet, by the capture thread only, and no method holds an access across a call that reaches
/// the same property.
final class ModelBuffer: @unchecked Sendable {
    let model: ServedModel
    @exclusivity(unchecked) private(set) var rows = 0
    /// When the oldest buffered row arrived (monotonic seconds).
    @exclusivity(unchecked) private(set) var since = 0.0
    @exclusivity(unchecked) private var values: [Double] = []
    @exclusivity(unchecked) private var stamps: [(packet: Int, time: Double)] = []
    @exclusivity(unchecked) private var devices: [AgentDevice] = []

    init(model: ServedModel) { self.model = model }

    func append(_ row: UnsafePointer<Double>, of device: AgentDevice, packet: Int, time: Double) {
        if rows == 0 { since = AgentCounters.now() }
        for j in model.columns { values.append(row[j]) }
        stamps.append((packet, time))
        devices.append(device)
        rows += 1
    }

    /// The buffered rows as a batch, and the buffer empty; nil when there are none.
    func take() -> AgentBatch? {
        guard rows > 0 else { return nil }
        let b = AgentBatch(model: model, rows: rows, values: values, stamps: stamps, devices: devices)
        values = []   // the batch owns the buffers
        stamps = []
        devices = []
        rows = 0
        return b
    }
}

struct AgentBatch: @unchecked Sendable {
    let model: ServedModel
    let rows: Int
    let values: [Double]
    let stamps: [(packet: Int, time: Double)]
    /// Each row's device, for its vote.
    let devices: [AgentDevice]
}

/// A device's window vote over the service's per-row verdicts (the sender's thread only), and the
/// alert it has open: `ae detect`'s alerts, without the top features (the service's answer
/// carries the score, not the reconstruction).
final class AgentVote: @unchecked Sendable {
    let label: String
    let model: ServedModel
    var stream: WindowVote.Stream
    var rows = 0
    var alerts = 0
    private var open: (firstPacket: Int, firstTime: Double, lastPacket: Int, lastTime: Double, windows: Int, maxMSE: Float)?

    init(label: String, model: ServedModel) {
        self.label = label
        self.model = model
        stream = WindowVote.Stream(size: model.windowSize)
    }

    /// One row's verdict; an alert line when a run of anomalous windows has just ended.
    func add(packet: Int, time: Double, mse: Float, anomaly: Bool) -> String? {
        rows += 1
        switch stream.add(anomaly) {
        case true?:
            var a = open ?? (packet, time, packet, time, 0, -.infinity)
            a.lastPacket = packet
            a.lastTime = time
            a.windows += 1
            if !(mse <= a.maxMSE) { a.maxMSE = mse }
            open = a
            return nil
        case false?: return close()
        case nil: return nil
        }
    }

    func close(ended: Bool = true) -> String? {
        guard let a = open else { return nil }
        open = nil
        alerts += 1
        return #"{"device":\#(DeviceRun.quoted(label)),"model":\#(DeviceRun.quoted(model.name)),"first_packet":\#(a.firstPacket),"#
            + #""last_packet":\#(a.lastPacket),"first_time":\#(a.firstTime),"last_time":\#(a.lastTime),"windows":\#(a.windows),"#
            + #""window_size":\#(model.windowSize),"max_mse":\#(DeviceRun.number(a.maxMSE)),"threshold":\#(DeviceRun.number(model.threshold)),"#
            + #""ended":\#(ended)}"# + "\n"
    }
}
