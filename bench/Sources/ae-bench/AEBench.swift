import ArgumentParser
import AutoencoderCore
import NumberText
import Foundation
import InferenceServer
import TrafficFeatures

/// Micro-benchmarks behind bench/*.sh. Each prints one JSON line per measurement so the shell
/// scripts can tabulate medians. Timings are wall-clock on one core.
@main
struct AEBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ae-bench", subcommands: [CSV.self, Encode.self, Pass.self, Extract.self, ExtractSynth.self, Route.self, FloatTextCheck.self, DecimalCheck.self, ActivationCheck.self])
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

/// The network's pass alone as `ae detect` runs it (`FrozenModel.reconstruct`: the six
/// products, the activations and the MSEs, no copy out), `rows` rows at a time, on random
/// scaled rows: nanoseconds a row, the median of `runs` runs of `passes` passes each.
struct Pass: ParsableCommand {
    @Option var model: String
    @Option var rows = 64
    @Option var passes = 20_000
    @Option var runs = 5
    func run() throws {
        let frozen = FrozenModel(try ModelFile.read(path: model))
        let n = frozen.inputSize
        var rng = SplitMix64(seed: 1)
        let x = (0..<(rows * n)).map { _ in rng.nextUnitFloat() }
        var errors = [Float](repeating: 0, count: rows)
        var activations = [Float](repeating: 0, count: rows * frozen.activationsPerRow)
        var times: [Double] = []
        for _ in 0..<runs {
            let t = now()
            for _ in 0..<passes { frozen.reconstruct(x, rows: rows, into: nil, errors: &errors, activations: &activations, capacity: rows) }
            times.append(now() - t)
        }
        emit(["bench": "pass", "rows": rows, "ns_per_row": median(times) / Double(passes * rows) * 1e9,
              "checksum": errors.reduce(0, +)])
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

/// The server's per-request work without the network: parse, scale, forward pass, JSON answer,
/// metrics. Single-threaded; the HTTP benchmark (bench/server.sh) measures the whole stack.
struct Route: ParsableCommand {
    @Option var model: String
    @Option(help: "a request body (JSON file)") var body: String
    @Option var path = "/reconstruct"
    @Option var requests = 200_000
    @Option var runs = 5
    @Option(help: "threads answering at once (each does requests / threads); shows what they pay for sharing") var threads = 1
    @Option(help: "OIP v2 binary bodies: the Inference-Header-Content-Length (the JSON part's bytes)") var inferenceHeaderLength: Int?
    func run() throws {
        var config = ServerConfiguration()
        config.modelPath = model
        config.logLevel = "warning"
        let server = try AutoencoderServer(configuration: config)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: body)))
        let header = inferenceHeaderLength
        let first = server.respond(method: "POST", path: path, contentType: "application/json", inferenceHeaderLength: header, body: bytes)
        guard first.status == 200 else { throw ValidationError("\(path) answered \(first.status): \(String(decoding: first.body, as: UTF8.self))") }
        var times: [Double] = []
        let threads = max(threads, 1), each = requests / max(threads, 1)
        for _ in 0..<runs {
            let t = now()
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                for _ in 0..<each { _ = server.respond(method: "POST", path: path, contentType: "application/json", inferenceHeaderLength: header, body: bytes) }
            }
            times.append(now() - t)
        }
        let m = median(times)
        // CPU time per request: wall time × threads / requests.
        emit(["bench": "route", "path": path, "request_bytes": bytes.count, "response_bytes": first.body.count, "threads": threads,
              "requests": each * threads, "median_s": m, "ns_per_request": m * Double(threads) / Double(each * threads) * 1e9])
    }
}

/// `FloatText` against `Float.description`: every `stride`-th bit pattern (1 = all 2³² of them,
/// about 10 minutes on one core), then the time per number of each on 1M typical values.
struct FloatTextCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "float-text")
    @Option var stride: UInt64 = 4099
    @Option(help: "check only bit patterns below this, with either sign (2^23: the subnormals)") var below: UInt64 = 1 << 31
    @Flag(help: "check FloatText.writeLeading (the AVX-512 kernel) against FloatText.write, instead of write against description")
    var kernel = false
    func run() throws {
        if kernel { return try checkKernel() }
        var buffer = [UInt8](repeating: 0, count: FloatText.bufferLength)
        var checked = 0, mismatches = 0
        var bits: UInt64 = 0
        while bits <= UInt64(UInt32.max) {
            if bits & 0x7FFF_FFFF >= below { bits = bits < 1 << 31 ? 1 << 31 : UInt64(UInt32.max) + 1; continue }
            let x = Float(bitPattern: UInt32(bits))
            let n = buffer.withUnsafeMutableBufferPointer { FloatText.write(x, to: $0.baseAddress!) }
            let ours = String(decoding: buffer[0..<n], as: UTF8.self)
            if ours != x.description {
                mismatches += 1
                if mismatches <= 10 { print("mismatch: bits 0x\(String(bits, radix: 16)): ours \(ours), description \(x.description)") }
            }
            checked += 1
            bits += stride
        }
        var rng = SplitMix64(seed: 7)
        // Typical answers: reconstructions in client units, errors, latent values.
        let xs = (0..<1_000_000).map { i -> Float in
            let u = rng.nextUnitFloat()
            return [u * 100, u * 1e-3, (u - 0.5) * 2, u * 2e9][i % 4]
        }
        var sink = 0
        var oursTimes: [Double] = [], descTimes: [Double] = []
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: FloatText.bufferLength)
        defer { out.deallocate() }
        for _ in 0..<5 {
            var t = now()
            for x in xs { sink &+= FloatText.write(x, to: out) }
            oursTimes.append(now() - t)
            t = now()
            for x in xs { var text = NumberSink(); x.write(to: &text); sink &+= text.count }
            descTimes.append(now() - t)
        }
        let ours = median(oursTimes) / Double(xs.count) * 1e9
        let desc = median(descTimes) / Double(xs.count) * 1e9
        emit(["bench": "float_text", "checked": checked, "mismatches": mismatches, "ns_per_number": ours,
              "write_to_ns_per_number": desc, "sink": sink & 1])
        if mismatches > 0 { throw ExitCode.failure }
    }
}

extension FloatTextCheck {
    /// The values' texts, each followed by a comma: `FloatText.writeList` (the kernel's runs), or
    /// `FloatText.write` one by one.
    func list(_ xs: UnsafeBufferPointer<Float>, kernel: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        if kernel { return FloatText.writeList(xs, to: out) }
        var p = 0
        for x in xs {
            p += FloatText.write(x, to: out + p)
            out[p] = UInt8(ascii: ","); p += 1
        }
        return p
    }

    /// `writeLeading` against `write` on every `stride`-th bit pattern, 4096 values per call,
    /// then the time per number of each on the typical values.
    func checkKernel() throws {
        guard FloatText.hasKernel else { print("this CPU has no AVX-512 kernel"); throw ExitCode.failure }
        let chunk = 4096
        let room = chunk * max(FloatText.leadingBytesPerValue, FloatText.bufferLength) + 64
        let xs = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
        let fast = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
        let slow = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
        defer { xs.deallocate(); fast.deallocate(); slow.deallocate() }
        var checked = 0, mismatches = 0, bits: UInt64 = 0
        while bits <= UInt64(UInt32.max) {
            var m = 0
            while m < chunk && bits <= UInt64(UInt32.max) {
                if bits & 0x7FFF_FFFF >= below { bits = bits < 1 << 31 ? 1 << 31 : UInt64(UInt32.max) + 1; continue }
                xs[m] = Float(bitPattern: UInt32(bits)); m += 1; bits += stride
            }
            let values = UnsafeBufferPointer(start: xs, count: m)
            let a = list(values, kernel: true, to: fast), b = list(values, kernel: false, to: slow)
            checked += m
            if a != b || memcmp(fast, slow, a) != 0 {
                for j in 0..<m {   // which values
                    let one = UnsafeBufferPointer(start: xs + j, count: 1)
                    let a1 = list(one, kernel: true, to: fast), b1 = list(one, kernel: false, to: slow)
                    guard a1 != b1 || memcmp(fast, slow, a1) != 0 else { continue }
                    mismatches += 1
                    if mismatches <= 10 {
                        print("mismatch: bits 0x\(String(xs[j].bitPattern, radix: 16)): kernel \(String(decoding: UnsafeBufferPointer(start: fast, count: a1), as: UTF8.self)), write \(String(decoding: UnsafeBufferPointer(start: slow, count: b1), as: UTF8.self))")
                    }
                }
            }
        }
        var rng = SplitMix64(seed: 7)
        let typical = (0..<1_000_000).map { i -> Float in
            let u = rng.nextUnitFloat()
            return [u * 100, u * 1e-3, (u - 0.5) * 2, u * 2e9][i % 4]
        }
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 115 * 32 + 64)
        defer { out.deallocate() }
        var sink = 0
        var kernelTimes: [Double] = [], writeTimes: [Double] = []
        typical.withUnsafeBufferPointer { all in
            for _ in 0..<5 {
                for useKernel in [true, false] {
                    let t = now()
                    var start = 0
                    while start + 115 <= all.count {   // answers' worth: 115 values
                        sink &+= list(UnsafeBufferPointer(rebasing: all[start..<(start + 115)]), kernel: useKernel, to: out)
                        start += 115
                    }
                    if useKernel { kernelTimes.append(now() - t) } else { writeTimes.append(now() - t) }
                }
            }
        }
        let perNumber = 1e9 / Double(typical.count / 115 * 115)
        emit(["bench": "float_text_kernel", "checked": checked, "mismatches": mismatches,
              "kernel_ns_per_number": median(kernelTimes) * perNumber, "write_ns_per_number": median(writeTimes) * perNumber,
              "sink": sink & 1])
        if mismatches > 0 { throw ExitCode.failure }
    }
}

extension DecimalCheck {
    /// `DecimalParser.parseLeading` (the AVX-512 kernel) on `count` JSON decimals without exponent,
    /// 1–19 digits, in comma-separated lists of 115 with `", "` between them, against `strtod`;
    /// then its time per number on the first 1,000 lists, and that of the scalar parser.
    func checkLeading(_ rng: inout SplitMix64) throws -> (checked: Int, mismatches: Int, nsPerNumber: Double, scalarNsPerNumber: Double) {
        guard DecimalParser.hasKernel else { return (0, 0, 0, 0) }
        var checked = 0, mismatches = 0
        var out = [Double](repeating: 0, count: 115)
        var bodies: [[UInt8]] = []
        while checked < count {
            var texts: [String] = []
            for _ in 0..<115 {
                let digits = 1 + Int(rng.next() % 19)
                let intDigits = 1 + Int(rng.next() % UInt64(digits))
                var text = rng.next() % 2 == 0 ? "-" : ""
                if intDigits == 1 && rng.next() % 2 == 0 { text += "0" } else {
                    text += String(1 + rng.next() % 9)
                    for _ in 1..<intDigits { text += String(rng.next() % 10) }
                }
                if digits > intDigits {
                    text += "."
                    for _ in intDigits..<digits { text += String(rng.next() % 10) }
                }
                texts.append(text)
            }
            var body = Array((texts.joined(separator: ", ") + "]").utf8)
            let length = body.count
            body.append(0)
            let run = body.withUnsafeBufferPointer { b in
                out.withUnsafeMutableBufferPointer { DecimalParser.parseLeading(b.baseAddress!, count: length, max: 115, into: $0.baseAddress!) }
            }
            if run.values != 114 { mismatches += 1; print("leading: took \(run.values) of 114 in \(String(decoding: body.prefix(200), as: UTF8.self))…") }
            for k in 0..<min(run.values, 114) where out[k].bitPattern != Double(texts[k])!.bitPattern {
                mismatches += 1
                if mismatches <= 10 { print("leading mismatch: \(texts[k]): \(out[k]), strtod \(Double(texts[k])!)") }
            }
            checked += 114
            if bodies.count < 1_000 { bodies.append(body) }
        }
        var times: [Double] = []
        var sink = 0.0
        for _ in 0..<5 {
            let t = now()
            for body in bodies {
                _ = body.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { DecimalParser.parseLeading(b.baseAddress!, count: b.count - 1, max: 115, into: $0.baseAddress!) }
                }
                sink += out[0]
            }
            times.append(now() - t)
        }
        // The scalar reference on the same lists: DecimalParser.parse on each number (its bounds
        // found by a byte loop, as a scalar JSON parser finds them).
        var scalarTimes: [Double] = []
        for _ in 0..<5 {
            let t = now()
            for body in bodies {
                body.withUnsafeBufferPointer { b in
                    var start = 0
                    for i in 0..<b.count where b[i] == UInt8(ascii: ",") || b[i] == UInt8(ascii: "]") {
                        while b[start] == UInt8(ascii: " ") { start += 1 }
                        if case .value(let v) = DecimalParser.parse(b.baseAddress!, start, i) { sink += v }
                        start = i + 1
                    }
                }
            }
            scalarTimes.append(now() - t)
        }
        let perNumber = 1e9 / Double(bodies.count * 114)
        return (checked, mismatches, median(times) * perNumber + (sink.isNaN ? 1 : 0), median(scalarTimes) / 115 * 114 * perNumber)
    }
}

/// What `Float.write(to:)` costs at the least: a stream that only counts.
struct NumberSink: TextOutputStream {
    var count = 0
    mutating func write(_ string: String) { count += string.utf8.count }
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { count += buffer.count }
}

/// `DecimalParser` against `strtod` on random decimals shaped like the ones CSVs and JSON bodies
/// carry: 1–19 significant digits, the point anywhere, exponents −30…30. Then the time per number.
struct DecimalCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decimal-check")
    @Option var count = 2_000_000
    func run() throws {
        var rng = SplitMix64(seed: 17)
        var mismatches = 0
        var texts: [[UInt8]] = []
        for i in 0..<count {
            let digits = 1 + Int(rng.next() % 19)
            var bytes = (0..<digits).map { _ in UInt8(48 + rng.next() % 10) }
            bytes.insert(UInt8(ascii: "."), at: Int(rng.next() % UInt64(digits + 1)))
            if i % 2 == 0 { bytes += Array("e\(Int(rng.next() % 61) - 30)".utf8) }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let expected = Double(text) else { continue }
            bytes.append(0)
            let got = bytes.withUnsafeBufferPointer { DecimalParser.parse($0.baseAddress!, 0, $0.count - 1) }
            if got != .value(expected) {
                mismatches += 1
                if mismatches <= 10 { print("mismatch: \(text): \(got), strtod \(expected)") }
            }
            if texts.count < 1_000_000 { texts.append(bytes) }
        }
        var sink = 0.0
        let t = now()
        for b in texts { if case .value(let v) = b.withUnsafeBufferPointer({ DecimalParser.parse($0.baseAddress!, 0, $0.count - 1) }) { sink += v } }
        let perNumber = (now() - t) / Double(texts.count) * 1e9
        let lists = try checkLeading(&rng)
        emit(["bench": "decimal_check", "checked": count, "mismatches": mismatches, "ns_per_number": perNumber,
              "leading_checked": lists.checked, "leading_mismatches": lists.mismatches,
              "leading_ns_per_number": lists.nsPerNumber, "leading_scalar_ns_per_number": lists.scalarNsPerNumber,
              "sink": sink.isFinite ? 1 : 0])
        if mismatches > 0 || lists.mismatches > 0 { throw ExitCode.failure }
    }
}

/// `Activation.apply` (the AVX-512 or AVX2 kernels) against `applyScalar` (glibc's expf and tanhf) on every
/// `stride`-th bit pattern, 4096 at a time; then the time per value of each, on a layer's worth
/// (115 sigmoids, 16 tanhs) of typical pre-activations.
struct ActivationCheck: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activation-check")
    @Option var stride: UInt64 = 1
    func run() throws {
        guard Activation.hasKernel else { print("this CPU has no AVX-512 or AVX2 kernel"); throw ExitCode.failure }
        let chunk = 4096
        var fast = [Float](repeating: 0, count: chunk), slow = fast
        var checked = 0, mismatches = 0
        for activation in [Activation.sigmoid, .tanh] {
            var bits: UInt64 = 0
            while bits <= UInt64(UInt32.max) {
                var n = 0
                while n < chunk && bits <= UInt64(UInt32.max) { fast[n] = Float(bitPattern: UInt32(bits)); n += 1; bits += stride }
                slow = fast
                fast.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: n) }
                slow.withUnsafeMutableBufferPointer { activation.applyScalar($0.baseAddress!, count: n) }
                for i in 0..<n where fast[i].bitPattern != slow[i].bitPattern {
                    mismatches += 1
                    if mismatches <= 10 { print("mismatch: \(activation) kernel \(fast[i]) glibc \(slow[i])") }
                }
                checked += n
            }
        }
        var rng = SplitMix64(seed: 5)
        var timings: [String: Any] = ["bench": "activation", "checked": checked, "mismatches": mismatches]
        for (activation, width) in [(Activation.sigmoid, 115), (.tanh, 16)] {
            let xs = (0..<width).map { _ in (rng.nextUnitFloat() - 0.5) * 8 }
            var buffer = xs
            let rounds = 200_000
            var kernel: [Double] = [], scalar: [Double] = []
            for _ in 0..<5 {
                for useKernel in [true, false] {
                    let t = now()
                    buffer.withUnsafeMutableBufferPointer { b in
                        for _ in 0..<rounds {
                            b.baseAddress!.update(from: xs, count: width)
                            if useKernel { activation.apply(b.baseAddress!, count: width) } else { activation.applyScalar(b.baseAddress!, count: width) }
                        }
                    }
                    if useKernel { kernel.append(now() - t) } else { scalar.append(now() - t) }
                }
            }
            timings["\(activation)_\(width)_kernel_ns"] = median(kernel) / Double(rounds) * 1e9
            timings["\(activation)_\(width)_scalar_ns"] = median(scalar) / Double(rounds) * 1e9
        }
        emit(timings)
        if mismatches > 0 { throw ExitCode.failure }
    }
}
