import Foundation
import Synchronization
import Testing

/// `ae agent` against a real `ae-server` on 127.0.0.1: the real Mirai capture's rows go to the
/// service in batches and the alerts are `ae detect`'s, to the packet; a service that dies and
/// comes back mid-run loses no row (retries), and the metrics say so while it is down.
@Suite(.serialized) struct AgentCommandTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }
    func ae(_ args: [String]) throws -> AECommandTests.Run { try AECommandTests.ae(args, in: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    static var server: String? {
        AECommandTests.binary.map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("ae-server").path }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    /// A process whose output (stdout and stderr) is collected as it comes.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var text = ""
        var log: String { lock.lock(); defer { lock.unlock() }; return text }

        init(_ binary: String, _ args: [String], in dir: URL) throws {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = args
            process.currentDirectoryURL = dir
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AE_") }
            env["AE_LOG_LEVEL"] = "info"
            process.environment = env
            let err = Pipe()
            process.standardError = err
            process.standardOutput = err   // the agent's summary, with --alerts, goes to stdout
            err.fileHandleForReading.readabilityHandler = { [weak self] h in
                let data = h.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.lock(); self.text += String(decoding: data, as: UTF8.self); self.lock.unlock()
            }
            try process.run()
        }

        /// Waits (at most `seconds`) for `text` in the log.
        func waitFor(_ text: String, seconds: Double = 60) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !log.contains(text) {
                if Date() > deadline || !process.isRunning && !log.contains(text) { return log.contains(text) }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return true
        }

        func wait(seconds: Double = 120) -> Int32? {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning {
                if Date() > deadline { process.terminate(); return nil }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return process.terminationStatus
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    }

    /// A port nothing listens on now (bound, then released).
    static func freePort() -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    /// A model trained on the capture's first 3,000 rows, in `models/`, and ae detect's alerts
    /// with it (the camera by its MAC, every other host by --default-model).
    func setUp() throws {
        #expect(try ae(["features", "--pcap", DetectCommandTests.capture, "--out", "features.csv"]).status == 0)
        let lines = try String(contentsOfFile: path("features.csv"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try (lines.prefix(3_001).joined(separator: "\n") + "\n").write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("models"), withIntermediateDirectories: true)
        #expect(try ae(["train", "--train", "train.csv", "--epochs", "2", "--out", "models/plain.safetensors"]).status == 0)
        try #"{"\#(DetectCommandTests.device)": "plain"}"#.write(toFile: path("devices.json"), atomically: true, encoding: .utf8)
        let detect = try ae(["detect", "--pcap", DetectCommandTests.capture, "--models", "models", "--devices", "devices.json",
                             "--default-model", "plain", "--alerts", "detect.jsonl"])
        #expect(detect.status == 0, "\(detect.err)")
    }

    /// Alerts without what only ae detect has (top features), in a comparable order.
    func alerts(_ name: String) throws -> [String] {
        try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n").map { line in
            var o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            o["top_features"] = nil
            return String(decoding: try JSONSerialization.data(withJSONObject: o, options: .sortedKeys), as: UTF8.self)
        }.sorted()
    }

    func startServer(port: Int) throws -> Running {
        let s = try Running(Self.server!, ["--models", "models", "--default-model", "plain", "--host", "127.0.0.1", "--port", String(port), "--threads", "2"], in: dir)
        #expect(s.waitFor("listening", seconds: 20), "\(s.log)")
        return s
    }

    @Test func alertsAreDetectsThroughTheService() throws {
        guard AECommandTests.binary != nil, Self.server != nil else { Issue.record("ae and ae-server binaries not found; build them first"); return }
        try setUp()
        let port = Self.freePort()
        let server = try startServer(port: port)
        defer { kill(server.process.processIdentifier, SIGTERM); _ = server.wait() }
        let run = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--devices", "devices.json",
                          "--default-model", "plain", "--batch", "100", "--alerts", "agent.jsonl", "--drain-seconds", "300"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("38363 rows sent") && run.out.contains(" 0 retries"), "\(run.out)")
        #expect(!run.out.contains("dropped"), "\(run.out)")
        let mine = try alerts("agent.jsonl"), theirs = try alerts("detect.jsonl")
        #expect(!mine.isEmpty && mine == theirs, "agent \(mine.count) alerts, detect \(theirs.count)")

        // The same from a settings file (the server's scheme: flags over AE_AGENT_* over the file).
        try #"{"server": "http://127.0.0.1:\#(port)", "devices": "devices.json", "default_model": "plain", "batch": 500, "drain_seconds": 300, "idle_timeout": 3600}"#
            .write(toFile: path("agent.json"), atomically: true, encoding: .utf8)
        let configured = try ae(["agent", "--pcap", DetectCommandTests.capture, "--config", "agent.json", "--batch", "100", "--alerts", "again.jsonl"])
        #expect(configured.status == 0 && configured.out.contains("38363 rows sent"), "\(configured.err)")
        #expect(try alerts("again.jsonl") == theirs)
        try #"{"server": "http://127.0.0.1:1", "batchsize": 5}"#.write(toFile: path("typo.json"), atomically: true, encoding: .utf8)
        let typo = try ae(["agent", "--pcap", DetectCommandTests.capture, "--config", "typo.json"])
        #expect(typo.status != 0 && typo.err.contains("unknown key(s) batchsize"), "\(typo.err)")
        try #"{"server": "http://127.0.0.1:1", "batch": "many"}"#.write(toFile: path("type.json"), atomically: true, encoding: .utf8)
        let type = try ae(["agent", "--pcap", DetectCommandTests.capture, "--config", "type.json"])
        #expect(type.status != 0 && type.err.contains("'batch'"), "\(type.err)")

        // Refusals name what is wrong.
        let bad = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--default-model", "nope"])
        #expect(bad.status != 0 && bad.err.contains("no model 'nope'"), "\(bad.err)")
        let url = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "ftp://x", "--default-model", "plain"])
        #expect(url.status != 0 && url.err.contains("--server"), "\(url.err)")
        let batch = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--default-model", "plain", "--batch", "0"])
        #expect(batch.status != 0 && batch.err.contains("--batch"), "\(batch.err)")
        let idle = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--default-model", "plain", "--idle-timeout=-1"])
        #expect(idle.status != 0 && idle.err.contains("--idle-timeout must be ≥ 0"), "\(idle.err)")
    }

    /// Hosts let go (--max-hosts, --idle-timeout) close their alerts after their last rows are
    /// answered: the same alerts as ae detect's with the same settings, and the metrics count them.
    @Test func hostsLetGoCloseTheirAlertsAsDetectDoes() throws {
        guard AECommandTests.binary != nil, Self.server != nil else { Issue.record("ae and ae-server binaries not found; build them first"); return }
        try setUp()
        // With a stream budget that sheds (61 times with these settings) as well: the agent sheds as detect does.
        let detect = try ae(["detect", "--pcap", DetectCommandTests.capture, "--models", "models", "--default-model", "plain",
                             "--idle-timeout", "120", "--max-hosts", "4", "--max-streams", "1000", "--alerts", "few.jsonl"])
        #expect(detect.status == 0 && detect.out.contains("hosts let go"), "\(detect.err)\(detect.out)")
        let port = Self.freePort()
        let server = try startServer(port: port)
        defer { kill(server.process.processIdentifier, SIGTERM); _ = server.wait() }
        try #"{"max_hosts": 4, "max_streams": 1000}"#.write(toFile: path("agent.json"), atomically: true, encoding: .utf8)
        let run = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--config", "agent.json",
                          "--default-model", "plain", "--idle-timeout", "120", "--alerts", "agent.jsonl", "--drain-seconds", "300"])
        #expect(run.status == 0 && run.out.contains("38363 rows sent") && run.out.contains("hosts let go"), "\(run.err)\(run.out)")
        let mine = try alerts("agent.jsonl"), theirs = try alerts("few.jsonl")
        #expect(!mine.isEmpty && mine == theirs, "agent \(mine.count) alerts, detect \(theirs.count)")
        // The summary's row for the hosts let go: the same hosts, rows, windows and alerts.
        let gone = { (out: String) in out.split(separator: "\n").first { $0.contains("hosts let go") }.map { $0.split(separator: " ").map(String.init) } }
        #expect(gone(run.out) != nil && gone(run.out) == gone(detect.out), "\(run.out)\n\(detect.out)")
        let shed = { (out: String) in out.firstRange(of: "the stream budget shed streams ").map { out[$0.upperBound...].prefix { $0 != " " && $0 != "\n" } } }
        #expect(shed(run.out) != nil && shed(run.out) == shed(detect.out), "\(run.out)\n\(detect.out)")
        let zero = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--default-model", "plain", "--max-hosts", "0"])
        #expect(zero.status != 0 && zero.err.contains("--max-hosts must be at least 1"), "\(zero.err)")
        let few = try ae(["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)", "--default-model", "plain", "--max-streams", "15"])
        #expect(few.status != 0 && few.err.contains("--max-streams must be at least 16"), "\(few.err)")
    }

    /// The service is killed mid-run and started again on the same port: the agent retries, its
    /// metrics show the retries and the waiting rows meanwhile, and no row is lost. (The drain
    /// deadline is raised: under a sanitizer the last rows can take more than the default 10 s.)
    @Test func aServiceThatDiesAndComesBackLosesNoRow() throws {
        guard AECommandTests.binary != nil, Self.server != nil else { Issue.record("ae and ae-server binaries not found; build them first"); return }
        try setUp()
        let port = Self.freePort()
        var server = try startServer(port: port)
        let agent = try Running(AECommandTests.binary!, ["agent", "--pcap", DetectCommandTests.capture, "--server", "http://127.0.0.1:\(port)",
                                                         "--devices", "devices.json", "--default-model", "plain", "--batch", "64",
                                                         "--alerts", "agent.jsonl", "--metrics-port", "0", "--drain-seconds", "300"], in: dir)
        #expect(agent.waitFor("metrics on http://127.0.0.1:"), "\(agent.log)")
        // Paused as it starts, while the service goes away.
        kill(agent.process.processIdentifier, SIGSTOP)
        kill(server.process.processIdentifier, SIGKILL)
        _ = server.wait()
        kill(agent.process.processIdentifier, SIGCONT)
        #expect(agent.waitFor("retrying"), "\(agent.log)")
        let metricsPort = agent.log.range(of: #"127\.0\.0\.1:(\d+)/metrics"#, options: .regularExpression)
            .flatMap { Int(agent.log[$0].split(separator: ":")[1].prefix { $0.isNumber }) }
        if let metricsPort {
            let m = try TestHTTP.get(port: metricsPort, path: "/metrics")
            #expect(m.contains("ae_agent_retries_total") && !m.contains("ae_agent_retries_total 0\n"), "\(m)")
            #expect(m.contains("ae_agent_queue_rows") && !m.contains("ae_agent_queue_rows 0\n"), "\(m)")
            // Hosts under --default-model are held (none idle long enough to go); no stream shed.
            let hosts = m.split(separator: "\n").first { $0.hasPrefix("ae_agent_hosts ") }.flatMap { Int($0.split(separator: " ")[1]) }
            #expect((hosts ?? 0) >= 1 && m.contains("ae_agent_hosts_let_go_total 0\n") && m.contains("ae_agent_streams_shed_total 0\n"), "\(m)")
        } else {
            Issue.record("no metrics port in \(agent.log)")
        }
        server = try startServer(port: port)
        defer { kill(server.process.processIdentifier, SIGTERM); _ = server.wait() }
        #expect(agent.wait() == 0, "\(agent.log)")
        #expect(agent.log.contains("38363 rows sent") && !agent.log.contains("dropped"), "\(agent.log)")
        let mine = try alerts("agent.jsonl"), theirs = try alerts("detect.jsonl")
        #expect(mine == theirs, "agent \(mine.count) alerts, detect \(theirs.count)")
    }
}

/// One GET over a fresh connection, for the agent's metrics.
enum TestHTTP {
    static func get(port: Int, path: String) throws -> String {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw CocoaError(.fileReadUnknown) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(s, $0.baseAddress!, $0.count, 0) }
        var out: [UInt8] = [], buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(s, &buf, buf.count, 0)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
