import Foundation
import Testing
import TrafficFeatures

/// `ae detect --interface` on a real link: a network namespace of its own with a veth pair, made
/// and removed by the test (root only; CI runs as root). `ae replay` puts the real capture's
/// frames on one end; `ae detect` captures them on the other.
@Suite(.serialized, .enabled(if: getuid() == 0 && ipTool != nil, "needs root and iproute2"))
struct LiveCaptureTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }
    static let frames = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TrafficFeaturesTests/Fixtures/kitsune_mirai_first_5000_packets.pcapng").standardized.path

    /// A namespace with the veth pair `vdev` (the device's end) – `vgw` (the gateway's), up, no
    /// IPv6 (so the kernel sends nothing of its own on them); removed after `body`, whatever happens.
    func withLink(_ body: (String) throws -> Void) throws {
        let ns = "ae-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard try ip(["netns", "add", ns]) else { return }
        defer { try? ip(["netns", "delete", ns]) }
        try ip(["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        guard try ip(["-n", ns, "link", "add", "name", "vdev", "type", "veth", "peer", "name", "vgw"]),
              try ip(["-n", ns, "link", "set", "vdev", "up"]), try ip(["-n", ns, "link", "set", "vgw", "up"]) else { return }
        try body(ns)
    }

    /// `ae` inside the namespace, started; its stderr lines go to `lines` as they come.
    final class Running: @unchecked Sendable {
        let process = Process()
        let out = Pipe(), err = Pipe()
        private let lock = NSLock()
        private var errText = ""
        /// `binary`: `ae` unless another (ae-server).
        init(_ ns: String, _ args: [String], in dir: URL, binary: String? = nil) throws {
            process.executableURL = URL(fileURLWithPath: ipTool!)
            process.arguments = ["netns", "exec", ns, binary ?? AECommandTests.binary!] + args
            process.currentDirectoryURL = dir
            process.standardOutput = out
            process.standardError = err
            err.fileHandleForReading.readabilityHandler = { [weak self] h in
                let data = h.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.lock(); self.errText += String(decoding: data, as: UTF8.self); self.lock.unlock()
            }
            try process.run()
        }
        var stderr: String { lock.lock(); defer { lock.unlock() }; return errText }
        /// Waits (polling, with a deadline) for `text` on stderr, or for the process to end.
        func await(_ text: String, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if stderr.contains(text) { return true }
                if !process.isRunning { return stderr.contains(text) }
                usleep(20_000)
            }
            return false
        }
        /// Its exit status and stdout, once it ends (killed after `seconds`).
        func finish(seconds: Double) -> (Int32, String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                Issue.record("ae did not end within \(seconds) s")
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            err.fileHandleForReading.readabilityHandler = nil
            return (process.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }

    /// `ae` inside the namespace, to its end: status, stdout, stderr.
    func ae(in ns: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try Running(ns, args, in: dir)
        let (status, out) = r.finish(seconds: 60)
        return (status, out, r.stderr)
    }

    func model() throws {
        #expect(try AECommandTests.ae(["synth", "--out", "d", "--rows", "600", "--test-rows", "100"], in: dir).status == 0)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
        let train = try AECommandTests.ae(["train", "--train", "d/gafgyt_danmini_doorbell_train.csv", "--epochs", "1", "--out", "models/m.safetensors"], in: dir)
        #expect(train.status == 0, "\(train.err)")
    }

    @Test func detectScoresWhatArrivesAndEndsCleanlyOnSIGTERM() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        try model()
        try withLink { ns in
            // --count: exactly that many packets, then the table.
            let counted = try Running(ns, ["detect", "--interface", "vgw", "--models", "models", "--default-model", "m", "--count", "3000",
                                           "--duration", "60", "--scores", "s.csv", "--alerts", "a.jsonl"], in: dir)
            #expect(counted.await("capturing on vgw", seconds: 20), "\(counted.stderr)")
            let replay = try ae(in: ns, ["replay", "--pcap", Self.frames, "--interface", "vdev", "--pps", "3000"])
            #expect(replay.status == 0 && replay.out.hasPrefix("5000 frames sent on vdev"), "\(replay.out) \(replay.err)")
            let (status, out) = counted.finish(seconds: 60)
            #expect(status == 0 && out.contains("3000 packets in"), "\(out) \(counted.stderr)")
            let scores = try String(contentsOf: dir.appendingPathComponent("s.csv"), encoding: .utf8).split(separator: "\n")
            #expect(scores.count == 3001 && scores.last?.hasPrefix("3000,") == true)

            // SIGTERM: what has arrived is scored, then the table and exit 0.
            let running = try Running(ns, ["detect", "--interface", "vgw", "--models", "models", "--default-model", "m",
                                           "--alerts", "b.jsonl"], in: dir)
            #expect(running.await("capturing on vgw", seconds: 20), "\(running.stderr)")
            let some = try ae(in: ns, ["replay", "--pcap", Self.frames, "--interface", "vdev", "--pps", "5000"])
            #expect(some.status == 0)
            running.process.terminate()   // SIGTERM
            let (code, table) = running.finish(seconds: 30)
            let read = Int(table.split(separator: "\n").last { $0.contains(" packets in ") }?.split(separator: " ").first ?? "") ?? -1
            let dropped = table.range(of: #"(\d+) dropped by the kernel"#, options: .regularExpression).map { Int(table[$0].split(separator: " ")[0])! } ?? 0
            #expect(code == 0 && read + dropped == 5000, "\(table) \(running.stderr)")
        }
    }

    /// `ae features --interface` records what arrives, until --count; `ae replay` sends a frame the
    /// capture cut (headers only, as `ae synth --gateway` writes them) at its length on the wire,
    /// so the recorded sizes are the device's: every frame of 600 bytes gives means of 600.
    @Test func featuresRecordALinkAndReplaySendsFramesAtTheirLengthOnTheWire() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let table = AddressTable()
        let writer = try CaptureWriter(path: dir.appendingPathComponent("cut.pcap").path)
        for i in 0..<200 {
            try writer.write(Packet(time: 1_700_000_000 + Double(i) * 0.01, length: 600,
                                    srcMAC: table.intern("02:00:00:00:00:01"), dstMAC: table.intern("02:00:00:00:00:02"),
                                    srcIP: table.intern("192.168.9.1"), dstIP: table.intern("192.168.9.2"),
                                    srcProto: table.intern("5000"), dstProto: table.intern("53"), isARP: false), addresses: table)
        }
        try writer.flush()
        try withLink { ns in
            let record = try Running(ns, ["features", "--interface", "vgw", "--count", "200", "--duration", "60", "--out", "f.csv"], in: dir)
            #expect(record.await("capturing on vgw", seconds: 20), "\(record.stderr)")
            let replay = try ae(in: ns, ["replay", "--pcap", "cut.pcap", "--interface", "vdev", "--pps", "2000"])
            #expect(replay.status == 0 && replay.out.hasPrefix("200 frames sent on vdev"), "\(replay.out) \(replay.err)")
            let (status, out) = record.finish(seconds: 60)
            #expect(status == 0 && out.hasPrefix("200 packets → f.csv (200 rows × 115 features"), "\(out) \(record.stderr)")
        }
        let lines = try String(contentsOf: dir.appendingPathComponent("f.csv"), encoding: .utf8).split(separator: "\n")
        let column = lines.first?.split(separator: ",").firstIndex(of: "MI_dir_L0.01_mean") ?? -1
        let means = lines.dropFirst().compactMap { line in column >= 0 ? Double(line.split(separator: ",")[column]) : nil }
        #expect(means.count == 200 && means.allSatisfy { abs($0 - 600) < 1e-6 }, "\(means.prefix(3))")
        let twice = try AECommandTests.ae(["features", "--interface", "vgw", "--pcap", "cut.pcap", "--out", "g.csv"], in: dir)
        #expect(twice.status != 0 && twice.err.contains("give --packets FILE (tshark fields), --pcap FILE (a capture) or --interface IF (live), one of them"))
    }

    @Test func aMissingInterfaceIsAnError() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        try model()
        let run = try AECommandTests.ae(["detect", "--interface", "ae-no-such0", "--models", "models", "--default-model", "m"], in: dir)
        #expect(run.status != 0 && run.err.contains("ae-no-such0: cannot capture: no such interface"), "\(run.err)")
        let send = try AECommandTests.ae(["replay", "--pcap", Self.frames, "--interface", "ae-no-such0"], in: dir)
        #expect(send.status != 0 && send.err.contains("ae-no-such0: cannot send: no such interface"), "\(send.err)")
        let both = try AECommandTests.ae(["detect", "--interface", "lo", "--pcap", "x.pcap", "--models", "models", "--default-model", "m"], in: dir)
        #expect(both.status != 0 && both.err.contains("give --pcap FILE (a capture) or --interface IF (live), one of them"))
    }
}
