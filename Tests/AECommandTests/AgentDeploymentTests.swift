import Foundation
import Testing
import TrafficFeatures

/// `ae agent` deployed as on a gateway: three network namespaces made and removed by the test
/// (root only; CI runs as root). A "device" namespace puts frames on a veth link with `ae replay`
/// (the real capture's benign network, then a flooding device); a "gateway" namespace records
/// and captures on the link's other end; a "service" namespace, routed from the gateway over a
/// second veth pair, runs `ae-server`.
@Suite(.serialized, .enabled(if: getuid() == 0 && ipTool != nil, "needs root and iproute2"))
struct AgentDeploymentTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }
    typealias Running = LiveCaptureTests.Running

    /// device —(vdev | vgw)— gateway —(vup 10.77.0.1 | vsvc 10.77.0.2)— service; all removed after
    /// `body`, whatever happens.
    func withNamespaces(_ body: (_ device: String, _ gateway: String, _ service: String) throws -> Void) throws {
        let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let (dev, gw, svc) = ("ae-dev-\(tag)", "ae-gw-\(tag)", "ae-svc-\(tag)")
        var made: [String] = []
        defer { for ns in made { try? ip(["netns", "delete", ns]) } }
        for ns in [dev, gw, svc] {
            guard try ip(["netns", "add", ns]) else { return }
            made.append(ns)
        }
        for ns in [dev, gw] {   // nothing of the kernel's own on the captured link
            try ip(["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        }
        guard try ip(["-n", dev, "link", "add", "name", "vdev", "type", "veth", "peer", "name", "vgw", "netns", gw]),
              try ip(["-n", gw, "link", "add", "name", "vup", "type", "veth", "peer", "name", "vsvc", "netns", svc]),
              try ip(["-n", gw, "addr", "add", "10.77.0.1/30", "dev", "vup"]),
              try ip(["-n", svc, "addr", "add", "10.77.0.2/30", "dev", "vsvc"]),
              try ip(["-n", dev, "link", "set", "vdev", "up"]), try ip(["-n", gw, "link", "set", "vgw", "up"]),
              try ip(["-n", gw, "link", "set", "vup", "up"]), try ip(["-n", svc, "link", "set", "vsvc", "up"]),
              try ip(["-n", gw, "link", "set", "lo", "up"]), try ip(["-n", svc, "link", "set", "lo", "up"]) else { return }
        try body(dev, gw, svc)
    }

    /// The infected device's frames: `rows` packets of Mirai's UDP flood from a device the
    /// network has not seen (the simulator's Thermostat), headers only (`ae replay` sends each at
    /// its length on the wire). Returns the device's MAC and the frames written.
    func writeAttack(_ name: String, rows: Int) throws -> (mac: String, frames: Int) {
        let profile = DeviceProfile.fleet[1]
        let table = AddressTable()
        var sim = TrafficSimulator(seed: 7, addresses: table, device: profile)
        let device = table.intern(profile.mac)
        let writer = try CaptureWriter(path: dir.appendingPathComponent(name).path)
        for lp in sim.simulate(profile, rows: rows, attack: .mirai(.udpplain)).packets where lp.label != 0 && lp.packet.srcMAC == device {
            try writer.write(lp.packet, addresses: table)
        }
        try writer.flush()
        #expect(writer.written >= rows - 10, "\(writer.written) attack frames")
        return (profile.mac, writer.written)
    }

    /// The N-BaIoT method on a gateway, end to end: the gateway records its network's benign
    /// traffic (`ae features --interface`), a device model is trained on it (`ae train --data`:
    /// threshold and ws* from the records), the service serves it, and `ae agent` scores what
    /// comes next. The benign traffic again raises no alert; a device that starts a flood raises
    /// one, for its own MAC, after the flood begins. Meanwhile the service is killed and
    /// restarted: every captured row still reaches it (retries), and SIGTERM ends the agent with
    /// exit 0.
    @Test func benignIsQuietAnAttackAlertsAndAServiceRestartLosesNoRow() throws {
        guard AECommandTests.binary != nil, let server = AgentCommandTests.server else { Issue.record("ae and ae-server binaries not found; build them first"); return }
        let (attacker, attackRows) = try writeAttack("attack.pcap", rows: 3000)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fleet/home"), withIntermediateDirectories: true)
        let serve = ["--models", "models", "--default-model", "home", "--host", "10.77.0.2", "--port", "8080", "--threads", "2"]
        func replay(_ ns: String, _ pcap: String, frames: Int) throws {
            let r = try Running(ns, ["replay", "--pcap", pcap, "--interface", "vdev", "--pps", "5000"], in: dir)
            let (status, out) = r.finish(seconds: 60)
            #expect(status == 0 && out.hasPrefix("\(frames) frames sent on vdev"), "\(out) \(r.stderr)")
        }
        try withNamespaces { dev, gw, svc in
            // The benign records: the network's 5,000 frames, three times (train, opt and test thirds).
            let record = try Running(gw, ["features", "--interface", "vgw", "--out", "fleet/home/benign_traffic.csv"], in: dir)
            #expect(record.await("capturing on vgw", seconds: 30), "\(record.stderr)")
            for _ in 0..<3 { try replay(dev, LiveCaptureTests.frames, frames: 5000) }
            record.process.terminate()   // SIGTERM: what has arrived is written
            let (recorded, recordOut) = record.finish(seconds: 30)
            #expect(recorded == 0 && recordOut.contains(" rows × 115 features"), "\(recordOut) \(record.stderr)")
            let train = try AECommandTests.ae(["train", "--data", "fleet", "--out", "models", "--epochs", "10"], in: dir)
            #expect(train.status == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("models/home.safetensors").path),
                    "\(train.out) \(train.err)")

            var service = try Running(svc, serve, in: dir, binary: server)
            #expect(service.await("listening", seconds: 20), "\(service.stderr)")
            let agent = try Running(gw, ["agent", "--interface", "vgw", "--server", "http://10.77.0.2:8080", "--default-model", "home",
                                         "--batch", "64", "--flush-ms", "50", "--drain-seconds", "300", "--alerts", "alerts.jsonl"], in: dir)
            defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL) } }
            #expect(agent.await("capturing on vgw", seconds: 30), "\(agent.stderr)")

            // The service goes away; the network's benign frames arrive meanwhile.
            kill(service.process.processIdentifier, SIGKILL)
            _ = service.finish(seconds: 10)
            try replay(dev, LiveCaptureTests.frames, frames: 5000)
            #expect(agent.await("retrying", seconds: 30), "\(agent.stderr)")
            // Back on the same address: the agent's retries go through.
            service = try Running(svc, serve, in: dir, binary: server)
            defer { service.process.terminate(); _ = service.finish(seconds: 15) }
            #expect(service.await("listening", seconds: 20), "\(service.stderr)")

            // A device floods.
            let attackStart = Date().timeIntervalSince1970
            try replay(dev, dir.appendingPathComponent("attack.pcap").path, frames: attackRows)
            agent.process.terminate()   // SIGTERM: the capture stops, the queue drains
            let (code, summary) = agent.finish(seconds: 60)
            #expect(code == 0, "\(summary) \(agent.stderr)")
            let line = summary.split(separator: "\n").last { $0.contains(" rows sent in ") }.map(String.init) ?? ""
            func number(_ pattern: String) -> Int? {
                line.range(of: pattern, options: .regularExpression).flatMap { Int(line[$0].split(separator: " ")[0]) }
            }
            let packets = number(#"^\d+ packets"#) ?? -1, rows = number(#"\d+ rows sent"#) ?? -1
            let retries = number(#"\d+ retries"#) ?? -1, kernel = number(#"\d+ packets dropped by the kernel"#) ?? 0
            #expect(packets + kernel == 5000 + attackRows && rows == packets, "\(line)")
            #expect(retries > 0 && !line.contains("rows dropped"), "\(line)")

            // Alerts: the flooding device's, and nobody else's.
            let alerts = try String(contentsOf: dir.appendingPathComponent("alerts.jsonl"), encoding: .utf8)
                .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
            #expect(alerts.allSatisfy { $0["device"] as? String == attacker }, "\(alerts) \(summary)")
            let raised = alerts.filter { $0["device"] as? String == attacker }
            #expect(!raised.isEmpty, "\(summary)")
            // Windows of ws* packets slide one packet at a time: the first anomalous one closes ws*
            // packets into the flood; all of the flood's windows are anomalous.
            let deviceRow = summary.split(separator: "\n").first { $0.hasPrefix(attacker) }?.split(separator: " ") ?? []
            let ws = deviceRow.count > 2 ? Int(deviceRow[2]) ?? 0 : 0
            #expect(ws >= 1 && ws < attackRows, "\(summary)")
            for a in raised {
                #expect(a["model"] as? String == "home" && a["window_size"] as? Int == ws, "\(a)")
                #expect((a["first_time"] as? Double ?? 0) >= attackStart && (a["first_packet"] as? Int ?? 0) >= packets - attackRows + ws, "\(a)")
                #expect((1...(attackRows - ws + 1)).contains(a["windows"] as? Int ?? 0), "\(a) \(summary)")
            }

            // With a queue too small for the outage, a live capture drops what does not fit, and
            // counts exactly that: sent + dropped (queue full) + the kernel's drops = every frame.
            let small = try Running(gw, ["agent", "--interface", "vgw", "--server", "http://10.77.0.2:8080", "--default-model", "home",
                                         "--batch", "64", "--flush-ms", "50", "--drain-seconds", "300", "--queue-rows", "128", "--alerts", "small.jsonl"], in: dir)
            defer { if small.process.isRunning { kill(small.process.processIdentifier, SIGKILL) } }
            #expect(small.await("capturing on vgw", seconds: 30), "\(small.stderr)")
            kill(service.process.processIdentifier, SIGKILL)
            _ = service.finish(seconds: 10)
            try replay(dev, LiveCaptureTests.frames, frames: 5000)
            service = try Running(svc, serve, in: dir, binary: server)
            #expect(service.await("listening", seconds: 20), "\(service.stderr)")
            small.process.terminate()
            let (smallCode, smallSummary) = small.finish(seconds: 60)
            #expect(smallCode == 0, "\(smallSummary) \(small.stderr)")
            let last = smallSummary.split(separator: "\n").last { $0.contains(" rows sent in ") }.map(String.init) ?? ""
            func count(_ pattern: String) -> Int? {
                last.range(of: pattern, options: .regularExpression).flatMap { Int(last[$0].split(separator: " ")[0]) }
            }
            let got = count(#"^\d+ packets"#) ?? -1, sentRows = count(#"\d+ rows sent"#) ?? -1
            let full = count(#"\d+ rows dropped \(queue_full\)"#) ?? 0, lost = count(#"\d+ packets dropped by the kernel"#) ?? 0
            #expect(got + lost == 5000 && full > 0 && sentRows + full == got, "\(last)")
            #expect(small.stderr.contains("queue full"), "\(small.stderr)")
        }
    }
}
