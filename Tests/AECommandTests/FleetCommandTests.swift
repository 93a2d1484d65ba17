import Dispatch
import Foundation
import Testing

/// `ae synth --fleet`, `ae train --data` and `ae evaluate --models --data`, run as a user runs them.
@Suite(.serialized) struct FleetCommandTests {
    let temporary = TemporaryDirectory()
    var dir: URL { temporary.url }

    func ae(_ args: [String]) throws -> AECommandTests.Run { try AECommandTests.ae(args, in: dir) }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: dir.appendingPathComponent(path).path) }
    func lines(_ path: String) throws -> [Substring] {
        try String(contentsOf: dir.appendingPathComponent(path), encoding: .utf8).split(separator: "\n")
    }

    static let classes = ["gafgyt_attacks/combo", "gafgyt_attacks/junk", "gafgyt_attacks/scan", "gafgyt_attacks/tcp", "gafgyt_attacks/udp",
                          "mirai_attacks/ack", "mirai_attacks/scan", "mirai_attacks/syn", "mirai_attacks/udp", "mirai_attacks/udpplain"]

    @Test func synthTrainEvaluateAFleet() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        let synth = try ae(["synth", "--fleet", "fleet", "--devices", "2", "--rows", "960", "--attack-rows", "150", "--seed", "3"])
        #expect(synth.status == 0, "\(synth.err)")
        for device in ["Video_Doorbell", "Thermostat"] {
            let benign = try lines("fleet/\(device)/benign_traffic.csv")
            #expect(benign.count == 961)
            let header = benign[0].split(separator: ",")
            #expect(header.count == 116 && header.first == "MI_dir_L5_weight" && header.last == "timestamp")
            let times = benign.dropFirst().map { Double($0.split(separator: ",").last!)! }
            #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }, "rows in time order")
            for c in Self.classes { #expect(try lines("fleet/\(device)/\(c).csv").count == 151, "\(device)/\(c)") }
        }
        #expect(!exists("fleet/Security_Camera"))

        let train = try ae(["train", "--data", "fleet", "--out", "models", "--epochs", "2", "--jobs", "2"])
        #expect(train.status == 0, "\(train.err)")
        #expect(train.out.contains("] Thermostat: 960 benign rows") && train.out.contains("] Video_Doorbell: 960 benign rows"), "\(train.out)")
        #expect(train.out.contains("320/320/320"))
        #expect(exists("models/Thermostat.safetensors") && exists("models/Video_Doorbell.safetensors"))
        let global = try ae(["train", "--data", "fleet", "--global", "--out", "global.safetensors", "--epochs", "2"])
        #expect(global.status == 0, "\(global.err)")

        let evaluate = try ae(["evaluate", "--models", "models", "--data", "fleet", "--global", "global.safetensors", "--json"])
        #expect(evaluate.status == 0, "\(evaluate.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.out.utf8)) as? [String: Any])
        let devices = try #require(report["devices"] as? [[String: Any]])
        #expect(devices.map { $0["device"] as? String } == ["Thermostat", "Video_Doorbell"])
        for d in devices {
            #expect((d["window_size"] as? Int ?? 0) >= 1)
            #expect(d["benign_rows"] as? Int == 320)   // the held-out third
            let attacks = try #require(d["attacks"] as? [[String: Any]])
            #expect(attacks.count == 10 && attacks.allSatisfy { $0["rows"] as? Int == 150 })
            #expect(Set(attacks.map { $0["family"] as? String ?? "" }) == ["gafgyt", "mirai"])
            let families = try #require(d["families"] as? [[String: Any]])
            #expect(families.map { $0["family"] as? String } == ["gafgyt", "mirai"] && families.allSatisfy { $0["rows"] as? Int == 750 })
            // Timestamps give the delay in seconds wherever a window fired.
            for a in attacks where a["delay_instances"] != nil { #expect(a["delay_seconds"] is Double) }
        }
        #expect((report["global"] as? [[String: Any]])?.count == 2)
        let timing = try #require(report["timing"] as? [String: Any])
        #expect(timing["rows"] as? Int == 2 * 2 * (320 + 1500))   // two models, each on every row

        let text = try ae(["evaluate", "--models", "models", "--data", "fleet"])
        #expect(text.status == 0 && text.out.contains("fleet (pooled)") && text.out.contains("mirai/udpplain"), "\(text.out)")
        #expect(text.out.contains("Windowed TPR per attack family and class") && text.out.contains("gafgyt  "), "\(text.out)")

        // One device of the folder, by index in name order (an Indexed Job's pod).
        let one = try ae(["train", "--data", "fleet", "--device-index", "1", "--out", "one", "--epochs", "1"])
        #expect(one.status == 0 && exists("one/Video_Doorbell.safetensors") && !exists("one/Thermostat.safetensors"), "\(one.err)")
        let outOfRange = try ae(["train", "--data", "fleet", "--device-index", "2", "--out", "one2"])
        #expect(outOfRange.status != 0 && outOfRange.err.contains("has 2 devices"), "\(outOfRange.err)")
        let unknown = try ae(["train", "--data", "fleet", "--device", "Toaster", "--out", "one3"])
        #expect(unknown.status != 0 && unknown.err.contains("no device 'Toaster'"))
        // Nothing is overwritten without --force.
        let again = try ae(["train", "--data", "fleet", "--out", "models", "--epochs", "1"])
        #expect(again.status != 0 && again.err.contains("--force"))
        let resynth = try ae(["synth", "--fleet", "fleet", "--devices", "1", "--rows", "960"])
        #expect(resynth.status != 0 && resynth.err.contains("--force"))
    }

    @Test func theUCIDownloadsFlatLayoutReadsTheSame() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        #expect(try ae(["synth", "--fleet", "fleet", "--devices", "1", "--rows", "960", "--attack-rows", "40", "--seed", "6"]).status == 0)
        // The UCI repository's names: <id>.benign.csv, <id>.gafgyt.<class>.csv, <id>.mirai.<class>.csv.
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("uci"), withIntermediateDirectories: true)
        try fm.copyItem(at: dir.appendingPathComponent("fleet/Video_Doorbell/benign_traffic.csv"), to: dir.appendingPathComponent("uci/1.benign.csv"))
        for c in Self.classes {
            let parts = c.split(separator: "/"), family = parts[0].split(separator: "_")[0]
            try fm.copyItem(at: dir.appendingPathComponent("fleet/Video_Doorbell/\(c).csv"), to: dir.appendingPathComponent("uci/1.\(family).\(parts[1]).csv"))
        }
        let train = try ae(["train", "--data", "uci", "--out", "models", "--epochs", "2"])
        #expect(train.status == 0 && exists("models/Danmini_Doorbell.safetensors"), "\(train.err)")
        let evaluate = try ae(["evaluate", "--models", "models", "--data", "uci", "--json"])
        #expect(evaluate.status == 0, "\(evaluate.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.out.utf8)) as? [String: Any])
        let device = try #require((report["devices"] as? [[String: Any]])?.first)
        #expect(device["device"] as? String == "Danmini_Doorbell")
        let attacks = try #require(device["attacks"] as? [[String: Any]])
        #expect(Set(attacks.map { "\($0["family"]!)/\($0["attack"]!)" }) == Set(Self.classes.map { $0.replacingOccurrences(of: "_attacks", with: "") }))
    }

    @Test func badFleetsAreRefusedAndLeaveNoModels() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        #expect(try ae(["synth", "--fleet", "fleet", "--devices", "2", "--rows", "960", "--attack-rows", "20", "--seed", "4"]).status == 0)
        let fm = FileManager.default
        // A device folder without benign traffic: named, and no model for the others.
        try fm.createDirectory(at: dir.appendingPathComponent("fleet/Zz_Camera"), withIntermediateDirectories: true)
        let noBenign = try ae(["train", "--data", "fleet", "--out", "m1", "--epochs", "1"])
        #expect(noBenign.status != 0 && noBenign.err.contains("Zz_Camera: no benign_traffic.csv"), "\(noBenign.err)")
        #expect(!exists("m1"))
        // Too few rows to cut into thirds: says how many are needed; the other device's model is not written.
        let short = try lines("fleet/Video_Doorbell/benign_traffic.csv").prefix(200).joined(separator: "\n") + "\n"
        try short.write(to: dir.appendingPathComponent("fleet/Zz_Camera/benign_traffic.csv"), atomically: true, encoding: .utf8)
        let tooFew = try ae(["train", "--data", "fleet", "--out", "m2", "--epochs", "1"])
        #expect(tooFew.status != 0 && tooFew.err.contains("Zz_Camera/benign_traffic.csv") && tooFew.err.contains("at least 300 benign rows"), "\(tooFew.err)")
        #expect(!exists("m2/Thermostat.safetensors"))
        try fm.removeItem(at: dir.appendingPathComponent("fleet/Zz_Camera"))
        // A threshold that flags nearly everything: no quiet window; the best one is reported.
        let noisy = try ae(["train", "--data", "fleet", "--out", "m3", "--epochs", "1", "--threshold", "p1", "--max-window", "40"])
        #expect(noisy.status != 0 && noisy.err.contains("no window of up to 40 instances") && noisy.err.contains("windowed FPR"), "\(noisy.err)")
        #expect(!exists("m3"))

        #expect(try ae(["train", "--data", "fleet", "--out", "models", "--epochs", "1"]).status == 0)
        // An attack file without one of the model's features: named.
        let scan = dir.appendingPathComponent("fleet/Thermostat/mirai_attacks/scan.csv")
        let rows = try String(contentsOf: scan, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst().joined(separator: ",") }
        try (rows.joined(separator: "\n") + "\n").write(to: scan, atomically: true, encoding: .utf8)
        let missing = try ae(["evaluate", "--models", "models", "--data", "fleet"])
        #expect(missing.status != 0 && missing.err.contains("mirai_attacks/scan.csv") && missing.err.contains("MI_dir_L5_weight"), "\(missing.err)")
        // A device without a model, and a model from a single file (no window).
        try fm.removeItem(at: dir.appendingPathComponent("models/Thermostat.safetensors"))
        let noModel = try ae(["evaluate", "--models", "models", "--data", "fleet"])
        #expect(noModel.status != 0 && noModel.err.contains("no model for Thermostat"), "\(noModel.err)")
        // A benign file that is not the one the model was trained on.
        let benign = dir.appendingPathComponent("fleet/Video_Doorbell/benign_traffic.csv")
        try (try lines("fleet/Video_Doorbell/benign_traffic.csv").prefix(500).joined(separator: "\n") + "\n").write(to: benign, atomically: true, encoding: .utf8)
        try fm.removeItem(at: dir.appendingPathComponent("fleet/Thermostat"))
        let other = try ae(["evaluate", "--models", "models", "--data", "fleet"])
        #expect(other.status != 0 && other.err.contains("499 rows, but the model was trained on a file of 960"), "\(other.err)")
    }

    /// Runs a program with a deadline (a browser that hangs fails the test, it does not stall the suite).
    func run(_ path: String, _ args: [String], seconds: Double = 90) throws -> AECommandTests.Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        let o = Locked(Data()), e = Locked(Data())
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) { let d = out.fileHandleForReading.readDataToEndOfFile(); o.withLock { $0 = d } }
        DispatchQueue.global().async(group: readers) { let d = err.fileHandleForReading.readDataToEndOfFile(); e.withLock { $0 = d } }
        if done.wait(timeout: .now() + seconds) == .timedOut {
            p.terminate()
            Issue.record("\(path) did not finish within \(seconds) s")
            done.wait()
        }
        readers.wait()
        return .init(status: p.terminationStatus, out: String(decoding: o.withLock { $0 }, as: UTF8.self),
                     err: String(decoding: e.withLock { $0 }, as: UTF8.self))
    }

    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func theReportRendersInAHeadlessBrowser() throws {
        guard AECommandTests.binary != nil else { Issue.record("ae binary not found; build it first"); return }
        guard let chromium = Self.chromium else { Issue.record("chromium is not installed (scripts/test.sh installs it)"); return }
        #expect(try ae(["synth", "--fleet", "fleet", "--devices", "2", "--rows", "960", "--attack-rows", "150", "--seed", "5"]).status == 0)
        #expect(try ae(["train", "--data", "fleet", "--out", "models", "--epochs", "2"]).status == 0)
        let evaluate = try ae(["evaluate", "--models", "models", "--data", "fleet", "--report", "report.html"])
        #expect(evaluate.status == 0, "\(evaluate.err)")
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        // Self-contained: nothing is fetched.
        for pattern in ["src=", "href=", "url(", "@import", "fetch("] { #expect(!html.contains(pattern), "the page uses \(pattern)") }
        #expect(html.contains("data-charts-total=\"8\""))
        let again = try ae(["evaluate", "--models", "models", "--data", "fleet", "--report", "report.html"])
        #expect(again.status != 0 && again.err.contains("--force"))

        let page = dir.appendingPathComponent("report.html").absoluteString
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(dir.path)/profile",
                     "--enable-logging=stderr", "--v=0"]
        let dom = try run(chromium, flags + ["--dump-dom", page])
        #expect(dom.status == 0)
        // Every chart drew data marks (the page counts them on load), and nothing reached the console.
        #expect(dom.out.contains("data-charts-drawn=\"8\""), "\(dom.out.prefix(400))")
        #expect(!dom.out.contains("data-errors"))
        let console = dom.err.split(separator: "\n").filter { $0.contains(":CONSOLE") }
        #expect(console.isEmpty, "console: \(console)")
        let shot = try run(chromium, flags + ["--hide-scrollbars", "--window-size=1320,1000", "--screenshot=\(dir.path)/report.png", page])
        #expect(shot.status == 0)
        let png = try Data(contentsOf: dir.appendingPathComponent("report.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000, "\(png.count) bytes")
    }
}
