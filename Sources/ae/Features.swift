import ArgumentParser
import Foundation
import TrafficFeatures

struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Turn a capture (pcap, pcapng), a live interface or a tshark field file (CSV or TSV) into the 115 N-BaIoT features per packet.",
        discussion: """
        With --interface, a gateway records a device's benign traffic as the rows `ae train` learns \
        from, with the timing the gateway itself sees (the timing features are part of what a model \
        learns). It captures until SIGINT/SIGTERM, --count or --duration; the rows already written \
        stay in the file.
        """)

    @Option(help: "Packets: tshark fields, CSV or TSV with a header (README shows the tshark command).") var packets: String?
    @Option(help: "Packets: a pcap or pcapng capture (Ethernet), read through libpcap.") var pcap: String?
    @Option(help: "Packets: capture live from this network interface (Ethernet; root or CAP_NET_RAW).") var interface: String?
    @Option(help: "Stop after this many packets.") var count: Int?
    @Option(help: "Stop after this many seconds.") var duration: Double?
    @Option(help: "Feature CSV to write, with the N-BaIoT header.") var out: String
    @Option(help: "nbaiot (the published data, default) or kitsune (Kitsune-py to the bit).") var compat: String = "nbaiot"
    @Option(name: .customLong("idle-timeout"), help: "Drop streams idle this many seconds (0 keeps all, as Kitsune).")
    var idleTimeout: Double = 3600
    @Option(name: .customLong("max-streams"), help: "Most streams held at once, all feature groups together (about 400 B each); past it, those idle the longest are dropped until 3/4 remain.")
    var maxStreams: Int = FeatureExtractor.defaultMaxStreams
    @Flag(name: .customLong("skip-bad"), help: "Skip malformed lines or records (counted) instead of stopping.") var skipBad = false
    @Flag(help: "Overwrite the output file if it exists.") var force = false

    func run() throws {
        guard let mode = FeatureExtractor.Mode(rawValue: compat) else { throw CLIError("--compat must be nbaiot or kitsune, got '\(compat)'") }
        guard idleTimeout >= 0, idleTimeout.isFinite else { throw CLIError("--idle-timeout must be ≥ 0") }
        guard maxStreams >= FeatureExtractor.minimumMaxStreams else { throw CLIError("--max-streams must be at least \(FeatureExtractor.minimumMaxStreams)") }
        try Output.checkWritable(out, force: force)
        let addresses = AddressTable()
        var extractor = FeatureExtractor(mode: mode, idleTimeout: idleTimeout, maxStreams: maxStreams, addresses: addresses)
        guard [packets, pcap, interface].filter({ $0 != nil }).count == 1 else {
            throw CLIError("give --packets FILE (tshark fields), --pcap FILE (a capture) or --interface IF (live), one of them")
        }
        if let count, count < 1 { throw CLIError("--count must be at least 1") }
        if let duration, !(duration > 0 && duration.isFinite) { throw CLIError("--duration must be > 0 seconds") }
        if duration != nil, packets != nil { throw CLIError("--duration is for a capture (--pcap, --interface); tshark fields have no clock to stop by") }
        var csv = packets.map { PacketReader(path: $0, skipBad: skipBad, addresses: addresses) }
        var capture = pcap.map { CaptureReader(path: $0, skipBad: skipBad, addresses: addresses) }
            ?? interface.map { CaptureReader(interface: $0, addresses: addresses) }
        let limit = count ?? .max
        let deadline = duration.map { Date().addingTimeInterval($0) }
        if capture?.isLive == true {
            // SIGINT and SIGTERM end a live capture: what the interface has delivered is written.
            trapStopSignals { _ in CaptureReader.interrupt() }
            capture!.onOpen = { Output.stderr("capturing on \(interface!)\n") }
        }
        let sink = try TextSink(path: out)
        sink.write(FeatureNames.all.joined(separator: ",") + "\n")
        var row = [Double](repeating: 0, count: FeatureNames.count)
        var line = [UInt8]()
        line.reserveCapacity(4096)
        var written = 0
        capture?.shouldStop = { delivered in delivered >= limit || deadline.map { Date() >= $0 } == true }
        let start = Date()
        let live = Output.isTerminal(2)
        let each: (Packet) throws -> Void = { p in
            extractor.collectAddresses(keeping: p)
            row.withUnsafeMutableBufferPointer { extractor.process(p, into: $0.baseAddress!) }
            line.removeAll(keepingCapacity: true)
            for j in 0..<row.count {
                if j > 0 { line.append(0x2C) }
                NumberFormatting.append(row[j], to: &line)
            }
            line.append(0x0A)
            line.withUnsafeBufferPointer { sink.write(bytes: $0) }
            written += 1
            if written % 100_000 == 0 {
                let rate = Double(written) / Date().timeIntervalSince(start)
                Output.stderr((live ? "\r" : "") + "\(written) packets, \(Int(rate)) packets/s" + (live ? "" : "\n"))
            }
        }
        if csv != nil {
            try csv!.forEach { p in
                guard written < limit else { return }
                try each(p)
            }
        } else { try capture!.forEach(each) }
        try sink.close()
        if written >= 100_000 && live { Output.stderr("\n") }
        let seconds = Date().timeIntervalSince(start)
        print("\(written) packets → \(out) (\(written) rows × \(FeatureNames.count) features, \(mode.rawValue) mode) in \(String(format: "%.2f", seconds)) s")
        let (skipped, messages) = csv.map { ($0.skipped, $0.skippedMessages) } ?? (capture!.skipped, capture!.skippedMessages)
        if let capture, capture.dropped > 0 { Output.stderr("\(capture.dropped) packets dropped by the kernel (the capture fell behind)\n") }
        if extractor.budgetEvictions > 0 {
            Output.stderr("the stream budget (--max-streams \(maxStreams)) shed streams \(extractor.budgetEvictions) times: rows after a shed are not those of an unbounded extractor\n")
        }
        if skipped > 0 {
            Output.stderr("skipped \(skipped) malformed \(csv != nil ? "line(s)" : "record(s)"), e.g.:\n" + messages.map { "  " + $0 }.joined(separator: "\n") + "\n")
        }
    }
}

/// Fast shortest-round-trip text of a Double into a byte buffer: Swift's own algorithm, whose
/// digits arrive through `TextOutputStream._writeASCII` without a String per value.
enum NumberFormatting {
    struct ByteStream: TextOutputStream {
        var bytes: UnsafeMutablePointer<[UInt8]>
        mutating func write(_ string: String) { bytes.pointee.append(contentsOf: string.utf8) }
        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.pointee.append(contentsOf: buffer) }
    }

    @inline(__always)
    static func append(_ x: Double, to out: inout [UInt8]) {
        if x == 0 { out.append(0x30); return }
        if x == x.rounded(), abs(x) < 1e15 {
            // Integers (weights of 1, lengths, ports): plain digits.
            var v = Int64(x)
            if v < 0 { out.append(0x2D); v = -v }
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = 0
            withUnsafeMutableBytes(of: &digits) { d in
                repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
                for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
            }
            return
        }
        withUnsafeMutablePointer(to: &out) { p in
            var stream = ByteStream(bytes: p)
            x.write(to: &stream)
        }
    }
}
