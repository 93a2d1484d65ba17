import ArgumentParser
import AutoencoderCore
import Foundation
import TrafficFeatures

/// Micro-benchmarks behind bench/*.sh. Each prints one JSON line per measurement so the shell
/// scripts can tabulate medians. Timings are wall-clock on one core.
@main
struct AEBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ae-bench", subcommands: [CSV.self, Encode.self, Extract.self, ExtractSynth.self])
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func rssMB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
    }
    return 0
}

func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

struct CSV: ParsableCommand {
    @Argument var file: String
    @Option var runs = 5
    func run() throws {
        let size = Double((try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        var times: [Double] = []
        var rows = 0
        for _ in 0..<runs {
            let t = now()
            let table = try CSVReader().read(path: file)
            times.append(now() - t)
            rows = table.rowCount
        }
        let m = median(times)
        emit(["bench": "csv_load", "file_mb": size / 1e6, "rows": rows, "median_s": m, "mb_per_s": size / 1e6 / m])
    }
}

struct Encode: ParsableCommand {
    @Option var model: String
    @Option var rows = 1_000_000
    @Option var runs = 5
    func run() throws {
        let m = try ModelFile.read(path: model)
        Autoencoder.useSingleThreadedBLAS()
        let n = m.network.inputSize, k = m.network.latentSize
        var rng = SplitMix64(seed: 1)
        let x = (0..<(rows * n)).map { _ in rng.nextUnitFloat() }
        var out = [Float](repeating: 0, count: rows * k)
        var ws = Workspace(for: m.network, capacity: 256)
        var times: [Double] = []
        for _ in 0..<runs {
            let t = now()
            x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { m.network.encode(xp, into: $0, workspace: &ws) } }
            times.append(now() - t)
        }
        // The scaler's part (float64, as scikit-learn) on the same rows.
        let raw = x.map(Double.init)
        let t = now()
        _ = m.scaler.transform(raw)
        let scaling = now() - t
        emit(["bench": "encode", "rows": rows, "median_s": median(times), "rows_per_s": Double(rows) / median(times), "scaling_s": scaling, "checksum": out.reduce(0, +)])
    }
}

struct Extract: ParsableCommand {
    @Argument var packets: String
    @Option var replay = 10_000_000
    @Option var compat = "nbaiot"
    @Option(name: .customLong("idle-timeout")) var idleTimeout: Double = 3600
    @Option var runs = 3
    func run() throws {
        let addresses = AddressTable()
        var reader = PacketReader(path: packets, addresses: addresses)
        let base = try reader.readAll()
        let span = base.last!.time - base.first!.time + 0.001
        var times: [Double] = []
        var rssStart = 0.0, rssMid = 0.0, rssEnd = 0.0, streams = 0, trackers = 0
        var row = [Double](repeating: 0, count: FeatureNames.count)
        var checksum = 0.0
        for _ in 0..<runs {
            var x = FeatureExtractor(mode: FeatureExtractor.Mode(rawValue: compat)!, idleTimeout: idleTimeout, addresses: addresses)
            rssStart = rssMB()
            let t = now()
            var done = 0, round = 0
            row.withUnsafeMutableBufferPointer { out in
                while done < replay {
                    let shift = Double(round) * span   // the capture replayed, timestamps shifted
                    for p in base where done < replay {
                        var q = p
                        q.time += shift
                        x.process(q, into: out.baseAddress!)
                        done += 1
                        if done == replay / 2 { rssMid = rssMB() }
                    }
                    round += 1
                    checksum += out[0]
                }
            }
            times.append(now() - t)
            rssEnd = rssMB()
            streams = x.liveStreams; trackers = x.liveTrackers
        }
        let m = median(times)
        emit(["bench": "extract", "compat": compat, "packets": replay, "median_s": m, "packets_per_s": Double(replay) / m,
              "rss_mb_start": rssStart, "rss_mb_half": rssMid, "rss_mb_end": rssEnd, "live_streams": streams, "live_trackers": trackers,
              "checksum": checksum])
    }
}

/// The simulated doorbell capture with Gafgyt attacks (30% of device rows), replayed.
struct ExtractSynth: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "extract-synth")
    @Option var rows = 40_000
    @Option var replay = 2_000_000
    @Option var compat = "nbaiot"
    func run() throws {
        let addresses = AddressTable()
        var sim = TrafficSimulator(seed: 3, addresses: addresses, attackShare: 0.3)
        let base = sim.generate(rows: rows).map(\.packet)
        let span = base.last!.time - base.first!.time + 1
        var x = FeatureExtractor(mode: FeatureExtractor.Mode(rawValue: compat)!, addresses: addresses)
        var row = [Double](repeating: 0, count: FeatureNames.count)
        var peakTrackers = 0
        let t = now()
        var done = 0, round = 0
        row.withUnsafeMutableBufferPointer { out in
            while done < replay {
                for p in base where done < replay {
                    var q = p
                    q.time += Double(round) * span
                    x.process(q, into: out.baseAddress!)
                    done += 1
                }
                round += 1
                peakTrackers = max(peakTrackers, x.liveTrackers)
            }
        }
        let secs = now() - t
        emit(["bench": "extract_synth_attacks", "compat": compat, "packets": replay, "seconds": secs, "packets_per_s": Double(replay) / secs,
              "live_trackers": x.liveTrackers, "live_streams": x.liveStreams, "rss_mb": rssMB()])
    }
}
