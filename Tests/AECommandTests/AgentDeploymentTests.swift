import Foundation
import Testing

/// `ae agent` deployed as on a gateway: three network namespaces made and removed by the test
/// (root only; CI runs as root). A "device" namespace puts the real capture's frames on a veth
/// link with `ae replay`; a "gateway" namespace runs `ae agent --interface` on the link's other
/// end; a "service" namespace, routed from the gateway over a second veth pair, runs `ae-server`.
/// The service is killed before the frames arrive and started again after: every captured row
/// still reaches it (retries), and SIGTERM ends the agent with exit 0.
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

    @Test func everyCapturedRowReachesAServiceThatRestarts() throws {
        guard AECommandTests.binary != nil, let server = AgentCommandTests.server else { Issue.record("ae and ae-server binaries not found; build them first"); return }
        #expect(try AECommandTests.ae(["synth", "--out", "d", "--rows", "600", "--test-rows", "100"], in: dir).status == 0)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("models"), withIntermediateDirectories: true)
        #expect(try AECommandTests.ae(["train", "--train", "d/gafgyt_danmini_doorbell_train.csv", "--epochs", "1", "--out", "models/m.safetensors"], in: dir).status == 0)
        let serve = ["--models", "models", "--default-model", "m", "--host", "10.77.0.2", "--port", "8080", "--threads", "2"]
        try withNamespaces { dev, gw, svc in
            var service = try Running(svc, serve, in: dir, binary: server)
            #expect(service.await("listening", seconds: 20), "\(service.stderr)")
            let agent = try Running(gw, ["agent", "--interface", "vgw", "--server", "http://10.77.0.2:8080", "--default-model", "m",
                                         "--batch", "64", "--flush-ms", "50", "--drain-seconds", "300", "--alerts", "alerts.jsonl"], in: dir)
            defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL) } }
            #expect(agent.await("capturing on vgw", seconds: 30), "\(agent.stderr)")

            // The service goes away; the device's 5,000 frames arrive meanwhile.
            kill(service.process.processIdentifier, SIGKILL)
            _ = service.finish(seconds: 10)
            let replay = try Running(dev, ["replay", "--pcap", LiveCaptureTests.frames, "--interface", "vdev", "--pps", "5000"], in: dir)
            let (sent, out) = replay.finish(seconds: 60)
            #expect(sent == 0 && out.hasPrefix("5000 frames sent on vdev"), "\(out) \(replay.stderr)")
            #expect(agent.await("retrying", seconds: 30), "\(agent.stderr)")

            // Back on the same address: the agent's retries go through; SIGTERM drains and ends it.
            service = try Running(svc, serve, in: dir, binary: server)
            defer { service.process.terminate(); _ = service.finish(seconds: 15) }
            #expect(service.await("listening", seconds: 20), "\(service.stderr)")
            agent.process.terminate()   // SIGTERM
            let (code, summary) = agent.finish(seconds: 60)
            #expect(code == 0, "\(summary) \(agent.stderr)")
            let line = summary.split(separator: "\n").last { $0.contains(" rows sent in ") }.map(String.init) ?? ""
            func number(_ pattern: String) -> Int? {
                line.range(of: pattern, options: .regularExpression).flatMap { Int(line[$0].split(separator: " ")[0]) }
            }
            let packets = number(#"^\d+ packets"#) ?? -1, rows = number(#"\d+ rows sent"#) ?? -1
            let retries = number(#"\d+ retries"#) ?? -1, kernel = number(#"\d+ packets dropped by the kernel"#) ?? 0
            #expect(packets + kernel == 5000 && rows == packets, "\(line)")
            #expect(retries > 0 && !line.contains("rows dropped"), "\(line)")
            // With a queue too small for the outage, a live capture drops what does not fit, and
            // counts exactly that: sent + dropped (queue full) + the kernel's drops = every frame.
            let small = try Running(gw, ["agent", "--interface", "vgw", "--server", "http://10.77.0.2:8080", "--default-model", "m",
                                         "--batch", "64", "--flush-ms", "50", "--drain-seconds", "300", "--queue-rows", "128", "--alerts", "small.jsonl"], in: dir)
            defer { if small.process.isRunning { kill(small.process.processIdentifier, SIGKILL) } }
            #expect(small.await("capturing on vgw", seconds: 30), "\(small.stderr)")
            kill(service.process.processIdentifier, SIGKILL)
            _ = service.finish(seconds: 10)
            let again = try Running(dev, ["replay", "--pcap", LiveCaptureTests.frames, "--interface", "vdev", "--pps", "5000"], in: dir)
            #expect(again.finish(seconds: 60).0 == 0)
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

            // Alerts are well-formed JSON Lines naming the model.
            let alerts = (try? String(contentsOf: dir.appendingPathComponent("alerts.jsonl"), encoding: .utf8)) ?? ""
            for a in alerts.split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(a.utf8)) as? [String: Any]
                #expect(o?["model"] as? String == "m" && o?["windows"] is Int)
            }
        }
    }
}
