import AutoencoderCore
import Foundation
import Testing

/// `ae detect` on the real Mirai capture: each packet goes to its device's model, its score is
/// the one `ae evaluate`'s code gives the same feature row, and the windows and alerts follow
/// `WindowVote`'s rule per device.
@Suite(.serialized) struct DetectCommandTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }
    func ae(_ args: [String]) throws -> AECommandTests.Run { try AECommandTests.ae(args, in: dir) }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../TrafficFeaturesTests/Fixtures").standardized
    static let capture = fixtures.appendingPathComponent("kitsune_mirai_first_packets.pcap").path
    static let device = "5c:cf:7f:05:f2:c6"

    /// A small model trained on the capture's first 3,000 feature rows, voting over windows of 3;
    /// returns it and the capture's feature table.
    func model() throws -> (TrainedModel, FeatureTable) {
        let features = try ae(["features", "--pcap", Self.capture, "--out", "features.csv"])
        #expect(features.status == 0, "\(features.err)")
        let lines = try String(contentsOfFile: path("features.csv"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try (lines.prefix(3_001).joined(separator: "\n") + "\n").write(toFile: path("train.csv"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: path("models"), withIntermediateDirectories: true)
        let train = try ae(["train", "--train", "train.csv", "--epochs", "2", "--out", "models/plain.safetensors"])
        #expect(train.status == 0, "\(train.err)")
        var m = try ModelFile.read(path: path("models/plain.safetensors"))
        m.window = WindowSettings(size: 3, split: nil, optInstanceFPR: 0, searchedUpTo: 3)
        try ModelFile.write(m, to: path("models/cam.safetensors"))
        return (m, try CSVReader(features: m.featureNames).read(path: path("features.csv")))
    }

    func lines(_ path: String) throws -> [Substring] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    }

    struct Score { var packet: Int; var device: String; var model: String; var mse: Float; var anomaly: Bool }

    func scores(_ name: String) throws -> [Score] {
        try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            return Score(packet: Int(f[0])!, device: String(f[2]), model: String(f[3]), mse: Float(String(f[4]))!, anomaly: f[5] == "1")
        }
    }

    @Test func scoresWindowsAndAlertsFollowTheEvaluatorAndOtherHostsAreSkipped() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let (m, table) = try model()
        // Written as a user might (upper case); matched as the capture gives it.
        try #"{"\#(Self.device.uppercased())": "cam"}"#.write(toFile: path("devices.json"), atomically: true, encoding: .utf8)
        let run = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--devices", "devices.json",
                          "--default-model", "plain", "--scores", "scores.csv", "--alerts", "alerts.jsonl"])
        #expect(run.status == 0, "\(run.err)")
        let all = try scores("scores.csv")
        // Every packet scored once, in capture order, by the model the rule gives it.
        #expect(all.map(\.packet) == Array(1...table.rowCount))
        let packets = try String(contentsOfFile: Self.fixtures.appendingPathComponent("kitsune_mirai_first_packets.csv").path, encoding: .utf8)
            .split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(packets.count == all.count)
        for (s, p) in zip(all, packets) {
            let mine = p[2] == Self.device || p[3] == Self.device   // eth.src, eth.dst
            #expect(s.device == (mine ? Self.device : String(p[2])) && s.model == (mine ? "cam" : "plain"), "packet \(s.packet)")
            if s.device != (mine ? Self.device : String(p[2])) { break }
        }
        // The MSE of each packet is the evaluator's for its feature row, bit for bit.
        let expected = m.reconstructionErrors(table)
        #expect(zip(all, expected).allSatisfy { $0.mse.bitPattern == $1.bitPattern })
        #expect(all.allSatisfy { $0.anomaly == ($0.mse > m.threshold) })

        // Per device: WindowVote.count's windows; alerts are the runs of anomalous windows.
        let alerts = try String(contentsOfFile: path("alerts.jsonl"), encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let byDevice = Dictionary(grouping: all, by: \.device)
        var totalAlerts = 0
        for (device, rows) in byDevice {
            let size = device == Self.device ? 3 : 1
            let flags = rows.map(\.anomaly)
            let count = WindowVote.count(flags, size: size)
            var runs: [(first: Int, last: Int, windows: Int)] = []
            var open = false
            for i in (size - 1)..<max(flags.count, size - 1) {
                let window = flags[(i - size + 1)...i]
                if 2 * window.filter({ $0 }).count > size {
                    if open { runs[runs.count - 1].last = rows[i].packet; runs[runs.count - 1].windows += 1 } else { runs.append((rows[i].packet, rows[i].packet, 1)) }
                    open = true
                } else { open = false }
            }
            #expect(runs.map(\.windows).reduce(0, +) == count.anomalous)
            let mine = alerts.filter { $0["device"] as? String == device }
            #expect(mine.count == runs.count, "\(device)")
            let got = mine.map { ($0["first_packet"] as! Int, $0["last_packet"] as! Int, $0["windows"] as! Int) }.sorted { $0.0 < $1.0 }
            #expect(got.map(\.0) == runs.map(\.first) && got.map(\.1) == runs.map(\.last) && got.map(\.2) == runs.map(\.windows), "\(device)")
            totalAlerts += runs.count
            if device == Self.device {
                #expect(rows.count > 10_000 && count.windows == rows.count - 2)
                let line = run.out.split(separator: "\n").first { $0.hasPrefix(device) }.map { $0.split(separator: " ").map(String.init) }
                #expect(line == [device, "cam", "3", String(rows.count), String(count.windows), String(count.anomalous), String(runs.count)])
            }
        }
        #expect(alerts.count == totalAlerts)
        // An alert names its model, its window size and the features that explain its largest error.
        let first = try #require(alerts.first { $0["device"] as? String == Self.device })
        #expect(first["model"] as? String == "cam" && first["window_size"] as? Int == 3 && first["threshold"] as? Double != nil)
        let top = try #require(first["top_features"] as? [[String: Any]])
        #expect(top.count == 5 && top.allSatisfy { m.featureNames.contains($0["name"] as? String ?? "") })
        // They are the largest errors of the run's worst packet, as the model reconstructs its row.
        let (firstPacket, lastPacket) = (first["first_packet"] as! Int, first["last_packet"] as! Int)
        let maxMSE = Float(first["max_mse"] as! Double)
        let worst = try #require(all.first { $0.device == Self.device && (firstPacket...lastPacket).contains($0.packet) && $0.mse == maxMSE })
        let frozen = FrozenModel(m), n = m.featureNames.count, r = worst.packet - 1
        var x = [Float](repeating: 0, count: n), y = x, e: [Float] = [0]
        var activations = [Float](repeating: 0, count: frozen.activationsPerRow)
        table.values[(r * n)..<((r + 1) * n)].withUnsafeBufferPointer { frozen.scale($0, into: &x) }
        frozen.reconstruct(x, rows: 1, into: &y, errors: &e, activations: &activations, capacity: 1)
        let expectedTop = x.withUnsafeBufferPointer { x in y.withUnsafeBufferPointer { TopErrors(x, $0) } }
        #expect(e[0] == maxMSE)
        #expect(top.map { $0["name"] as? String } == (0..<expectedTop.count).map { m.featureNames[expectedTop.index[$0]] })
        #expect(top.map { Float($0["error"] as! Double) } == (0..<expectedTop.count).map { expectedTop.error[$0] })
        #expect(run.out.contains("\(table.rowCount) packets in"))
        let notACapture = try ae(["detect", "--pcap", "devices.json", "--models", "models", "--default-model", "plain"])
        #expect(notACapture.status != 0 && notACapture.err.contains("devices.json: cannot read as pcap or pcapng"))

        // --warm-up: the packets of its first seconds warm the extractor up and are not scored.
        let times = packets.map { Double(String($0[0]))! }
        let warm = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "plain", "--warm-up", "2.5",
                           "--scores", "warm.csv", "--alerts", "warm.jsonl"])
        let warming = times.filter { $0 < times[0] + 2.5 }.count
        #expect(warm.status == 0 && warm.out.contains("; \(warming) in the warm-up, not scored"), "\(warm.out)")
        let warmScores = try scores("warm.csv")
        #expect(warming > 0 && warmScores.first?.packet == warming + 1 && warmScores.count == table.rowCount - warming)

        // A model whose features are in another order than the extractor's (here reversed)
        // scores each packet as the evaluator scores that model's columns of its row.
        let header = try lines(path("features.csv")).first!.split(separator: ",")
        let reversedRows = try lines(path("train.csv")).map { $0.split(separator: ",", omittingEmptySubsequences: false).reversed().joined(separator: ",") }
        try (reversedRows.joined(separator: "\n") + "\n").write(toFile: path("reversed.csv"), atomically: true, encoding: .utf8)
        let trainReversed = try ae(["train", "--train", "reversed.csv", "--epochs", "1", "--out", "models/reversed.safetensors"])
        #expect(trainReversed.status == 0, "\(trainReversed.err)")
        let reversed = try ModelFile.read(path: path("models/reversed.safetensors"))
        #expect(reversed.featureNames == header.reversed().map(String.init))
        let byName = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "reversed",
                             "--scores", "reversed-scores.csv", "--alerts", "reversed.jsonl"])
        #expect(byName.status == 0, "\(byName.err)")
        let reversedExpected = reversed.reconstructionErrors(try CSVReader(features: reversed.featureNames).read(path: path("features.csv")))
        let reversedScores = try scores("reversed-scores.csv")
        #expect(reversedScores.count == reversedExpected.count && zip(reversedScores, reversedExpected).allSatisfy { $0.mse.bitPattern == $1.bitPattern })

        // Without --default-model, packets of other hosts are counted and skipped.
        try #"{"192.168.2.108": "cam"}"#.write(toFile: path("devices.json"), atomically: true, encoding: .utf8)
        let only = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--devices", "devices.json", "--scores", "s.csv", "--alerts", "a.jsonl"])
        #expect(only.status == 0, "\(only.err)")
        let scored = try scores("s.csv")
        #expect(Set(scored.map(\.device)) == ["192.168.2.108"] && !scored.isEmpty)
        #expect(only.out.contains("; \(table.rowCount - scored.count) from hosts with no device, skipped"))
    }

    /// Hosts scored by --default-model are let go when idle past --idle-timeout and, past
    /// --max-hosts, the longest idle: the table holds at most --max-hosts of them and one row for
    /// those let go, every packet is counted once, and each alert is written exactly once.
    @Test func hostsAreLetGoWhenIdleOrPastMaxHosts() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let (_, table) = try model()
        let all = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "cam", "--idle-timeout", "120",
                          "--alerts", "all.jsonl", "--scores", "all.csv"])
        #expect(all.status == 0, "\(all.err)")
        let run = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "cam", "--idle-timeout", "120",
                          "--max-hosts", "5", "--alerts", "alerts.jsonl", "--scores", "scores.csv"])
        #expect(run.status == 0, "\(run.err)")
        let rows = run.out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count >= 7 && $0[$0.count - 6] == "cam" }
        let hosts = rows.filter { !$0.contains("let") }, gone = rows.filter { $0.contains("let") }
        #expect(hosts.count <= 5 && gone.count == 1, "\(run.out)")
        let letGo = Int(gone.first?.first ?? "") ?? 0
        #expect(letGo >= 18 - 5, "\(run.out)")   // the capture's 18 source MACs
        // Every packet once, in one row; the same scores as with every host held.
        #expect(rows.reduce(0) { $0 + Int($1[$1.count - 4])! } == table.rowCount)
        #expect(try scores("scores.csv").map(\.mse) == scores("all.csv").map(\.mse))
        // Each alert once: the file has as many as the table counts.
        let alerts = try String(contentsOfFile: path("alerts.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(alerts.count == rows.reduce(0) { $0 + Int($1.last!)! } && run.out.contains(", \(alerts.count) alert(s)"), "\(run.out)")
        #expect(try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "cam", "--max-hosts", "0"])
            .err.contains("--max-hosts must be at least 1"))
    }

    /// A stream budget below what the capture holds (about 21,500 streams): `ae features` and
    /// `ae detect` shed the same streams at the same packets, say so, and score what they shed to.
    @Test func aSmallerStreamBudgetShedsTheSameStreamsAndSaysSo() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let (m, full) = try model()
        let features = try ae(["features", "--pcap", Self.capture, "--max-streams", "2000", "--out", "small.csv"])
        #expect(features.status == 0 && features.err.contains("the stream budget (--max-streams 2000) shed streams"), "\(features.err)")
        let small = try CSVReader(features: m.featureNames).read(path: path("small.csv"))
        #expect(small.rowCount == full.rowCount && small.values != full.values)   // the flag reached the extractor
        let run = try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "plain", "--max-streams", "2000",
                          "--alerts", "alerts.jsonl", "--scores", "scores.csv"])
        #expect(run.status == 0 && run.out.contains("; the stream budget shed streams"), "\(run.out)")
        let expected = m.reconstructionErrors(small)
        #expect(try scores("scores.csv").map { $0.mse.bitPattern } == expected.map(\.bitPattern))
        #expect(try ae(["features", "--pcap", Self.capture, "--max-streams", "15", "--out", "x.csv"]).err.contains("--max-streams must be at least 16"))
        #expect(try ae(["detect", "--pcap", Self.capture, "--models", "models", "--default-model", "plain", "--max-streams", "8"])
            .err.contains("--max-streams must be at least 16"))
    }

    /// `ae synth --gateway`: one capture of a fleet with one device attacked, and the devices file.
    @Test func aSimulatedGatewayCaptureReadsBack() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let synth = try ae(["synth", "--gateway", "g.pcap", "--devices", "2", "--rows", "300", "--attack-rows", "200", "--attacked", "Thermostat"])
        #expect(synth.status == 0, "\(synth.err)")
        let count = Int(synth.out.split(separator: " ")[1]) ?? -1
        #expect(synth.out.contains("Thermostat runs mirai/scan from t = "))
        let devices = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("g.devices.json"))) as? [String: String]
        #expect(devices == ["00:1e:c0:8a:3c:5f": "Video_Doorbell", "44:61:32:1f:9e:0a": "Thermostat"])
        let features = try ae(["features", "--pcap", "g.pcap", "--out", "g.csv"])
        #expect(features.status == 0 && features.out.hasPrefix("\(count) packets → g.csv"), "\(features.out) \(features.err)")
        #expect(count > 500)
        let again = try ae(["synth", "--gateway", "g.pcap", "--devices", "2"])
        #expect(again.status != 0 && again.err.contains("g.pcap exists; pass --force"))
        #expect(try ae(["synth", "--gateway", "h.pcap", "--attack", "mirai/nope"]).err.contains("--attack must be one of gafgyt/combo"))
        #expect(try ae(["synth", "--gateway", "h.pcap", "--devices", "2", "--attacked", "Webcam"]).err.contains("--attacked: no device 'Webcam' among Video_Doorbell, Thermostat"))
        #expect(!FileManager.default.fileExists(atPath: path("h.pcap")))
    }

    @Test func badInputIsRefusedNamingWhatIsWrong() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        try FileManager.default.createDirectory(atPath: path("models"), withIntermediateDirectories: true)
        func refused(_ devices: String?, _ extra: [String] = [], pcap: String = Self.capture) throws -> String {
            var args = ["detect", "--pcap", pcap, "--models", "models"] + extra
            if let devices {
                try devices.write(toFile: path("devices.json"), atomically: true, encoding: .utf8)
                args += ["--devices", "devices.json"]
            }
            let run = try ae(args)
            #expect(run.status != 0)
            return run.err
        }
        #expect(try refused(nil).contains("give --devices FILE"))
        #expect(try refused("[1]").contains("devices.json: expected a JSON object"))
        #expect(try refused("{").contains("devices.json: not valid JSON"))
        #expect(try refused("{}").contains("devices.json: lists no device"))
        #expect(try refused(#"{"zz": "cam"}"#).contains("devices.json: 'zz' is not a MAC address"))
        #expect(try refused(#"{"10.0.0.1": 3}"#).contains("'10.0.0.1': the model name must be a string"))
        #expect(try refused(#"{"10.0.0.1": "../x"}"#).contains("model name '../x' must be"))
        #expect(try refused(#"{"AA-BB-CC-DD-EE-FF": "cam", "aa:bb:cc:dd:ee:ff": "cam"}"#).contains("names the same device"))
        #expect(try refused(#"{"10.0.0.1": "cam"}"#).contains("no model 'cam' in models (it has none)"))
        #expect(try refused(nil, ["--default-model", "cam", "--warm-up=-1"]).contains("--warm-up must be ≥ 0 seconds"))
        #expect(try refused(nil, ["--default-model", "cam", "--count", "0"]).contains("--count must be at least 1"))
        #expect(try refused(nil, ["--default-model", "cam", "--duration", "0"]).contains("--duration must be > 0 seconds"))
        #expect(try refused(nil, ["--default-model", "cam", "--alerts", "x.out", "--scores", "x.out"]).contains("--alerts and --scores name the same file"))
        let pps = try ae(["replay", "--pcap", Self.capture, "--interface", "lo", "--pps", "0"])
        #expect(pps.status != 0 && pps.err.contains("--pps must be > 0"))
        try "x".write(toFile: path("alerts.jsonl"), atomically: true, encoding: .utf8)
        #expect(try refused(nil, ["--default-model", "cam", "--alerts", "alerts.jsonl"]).contains("alerts.jsonl exists; pass --force"))
        #expect(try String(contentsOfFile: path("alerts.jsonl"), encoding: .utf8) == "x")
    }
}
