import Foundation

/// Reads packets from a CSV or TSV of tshark fields (the format of Kitsune's `.tsv` files and of
/// `kitsune_mirai_first_packets.csv`). The delimiter is taken from the header line; columns are
/// matched by name, so extra columns and any order work.
///
/// The tshark command that writes such a file (README, "From a capture to features"):
///
///     tshark -r capture.pcap -T fields -E header=y -E separator=, -E occurrence=f \
///       -e frame.time_epoch -e frame.len -e eth.src -e eth.dst -e ip.src -e ip.dst \
///       -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e icmp.type -e icmp.code \
///       -e arp.opcode -e arp.src.hw_mac -e arp.src.proto_ipv4 -e arp.dst.hw_mac \
///       -e arp.dst.proto_ipv4 -e ipv6.src -e ipv6.dst > packets.csv
public struct PacketReader {
    public static let fields = [
        "frame.time_epoch", "frame.len", "eth.src", "eth.dst", "ip.src", "ip.dst",
        "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "icmp.type", "icmp.code",
        "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4",
        "ipv6.src", "ipv6.dst",
    ]
    /// Fields without which a packet cannot be keyed.
    static let required = ["frame.time_epoch", "frame.len", "eth.src", "eth.dst", "ip.src", "ip.dst"]

    public let path: String
    /// Skip malformed lines (counting them) instead of stopping at the first.
    public var skipBad: Bool
    public let addresses: AddressTable
    public private(set) var skipped = 0
    /// The first few skipped lines' messages, for the user.
    public private(set) var skippedMessages: [String] = []

    public init(path: String, skipBad: Bool = false, addresses: AddressTable) {
        self.path = path
        self.skipBad = skipBad
        self.addresses = addresses
    }

    /// Calls `body` for each packet in file order.
    public mutating func forEach(_ body: (Packet) throws -> Void) throws(PacketError) {
        var columns: [Int] = []   // file column → index in `fields`, or -1
        var delimiter: UInt8 = 0x2C
        var sawHeader = false
        var skipped = 0
        var messages: [String] = []
        let path = self.path, skipBad = self.skipBad, addresses = self.addresses
        do {
            try LineReader(path: path).forEachLine { line, number in
                if !sawHeader {
                    let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: [" ", "\u{FEFF}"])
                    if text.isEmpty { throw PacketError(file: path, line: number, message: "empty header line") }
                    delimiter = text.contains("\t") ? 0x09 : 0x2C
                    let names = text.split(separator: Character(Unicode.Scalar(delimiter)), omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: [" ", "\""]) }
                    columns = names.map { Self.fields.firstIndex(of: $0) ?? -1 }
                    let missing = Self.required.filter { !names.contains($0) }
                    if !missing.isEmpty {
                        throw PacketError(file: path, line: number, message: "missing column(s) \(missing.joined(separator: ", ")); expected tshark fields \(Self.fields.joined(separator: ","))")
                    }
                    sawHeader = true
                    return true
                }
                if line.isEmpty { return true }
                do {
                    let p = try Self.parse(line, columns: columns, delimiter: delimiter, addresses: addresses)
                    try body(p)
                } catch let e as LineFault {
                    let err = PacketError(file: path, line: number, message: e.message)
                    if !skipBad { throw err }
                    skipped += 1
                    if messages.count < 5 { messages.append(err.description) }
                }
                return true
            }
        } catch let e as PacketError {
            throw e
        } catch let e as LineReader.OpenError {
            throw PacketError(file: path, line: nil, message: "cannot read: \(e.reason)")
        } catch {
            throw PacketError(file: path, line: nil, message: "\(error)")
        }
        self.skipped = skipped
        self.skippedMessages = messages
        if !sawHeader { throw PacketError(file: path, line: nil, message: "the file is empty") }
    }

    /// Reads every packet into memory.
    public mutating func readAll() throws(PacketError) -> [Packet] {
        var out: [Packet] = []
        try forEach { out.append($0) }
        return out
    }

    struct LineFault: Error { var message: String }

    /// One line's fields, read straight from its bytes: only non-empty string fields become
    /// Strings (short ones, mostly inline), numbers are parsed in place.
    static func parse(_ line: UnsafeBufferPointer<UInt8>, columns: [Int], delimiter: UInt8, addresses: AddressTable) throws -> Packet {
        let base = line.baseAddress!
        var starts = (0..<fields.count).map { _ in 0 }, ends = starts
        var present = [Bool](repeating: false, count: fields.count)
        var column = 0, a = 0
        for i in 0...line.count where i == line.count || base[i] == delimiter {
            if column >= columns.count { column += 1; break }
            let slot = columns[column]
            if slot >= 0 { starts[slot] = a; ends[slot] = i; present[slot] = true }
            column += 1
            a = i + 1
        }
        if column != columns.count {
            let found = line.reduce(1) { $0 + ($1 == delimiter ? 1 : 0) }
            throw LineFault(message: "expected \(columns.count) fields, found \(found)")
        }
        func text(_ k: Int) -> String {
            guard present[k], ends[k] > starts[k] else { return "" }
            return String(decoding: UnsafeBufferPointer(start: base + starts[k], count: ends[k] - starts[k]), as: UTF8.self)
        }
        func cell(_ k: Int) -> String { String(text(k).prefix(40)) }
        var f = Packet.Fields()
        // frame.time_epoch, correctly rounded (as Python's float(), so kitsune mode stays exact), ≥ 0.
        guard let t = Double(text(0)), t.isFinite, t >= 0 else {
            throw LineFault(message: "frame.time_epoch '\(cell(0))' is not a time")
        }
        f.time = t
        guard let len = integer(base, starts[1], ends[1], present[1]), len <= 1 << 20 else {
            throw LineFault(message: "frame.len '\(cell(1))' is not a length")
        }
        f.length = Double(len)
        for (k, name) in [(6, "tcp.srcport"), (7, "tcp.dstport"), (8, "udp.srcport"), (9, "udp.dstport")]
        where present[k] && ends[k] > starts[k] {
            guard let port = integer(base, starts[k], ends[k], true), port <= 65535 else {
                throw LineFault(message: "\(name) '\(cell(k))' is not a port")
            }
        }
        f.ethSrc = text(2); f.ethDst = text(3); f.ipSrc = text(4); f.ipDst = text(5)
        f.tcpSrcPort = text(6); f.tcpDstPort = text(7); f.udpSrcPort = text(8); f.udpDstPort = text(9)
        f.icmpType = text(10); f.arpOpcode = text(12); f.arpSrcIP = text(14); f.arpDstIP = text(16)
        f.ipv6Src = text(17); f.ipv6Dst = text(18)
        return Packet(f, addresses: addresses)
    }

    /// A non-negative decimal integer of up to 9 digits, or nil.
    @inline(__always)
    static func integer(_ base: UnsafePointer<UInt8>, _ a: Int, _ b: Int, _ present: Bool) -> Int? {
        guard present, b > a, b - a <= 9 else { return nil }
        var v = 0
        for i in a..<b {
            let d = base[i] &- 48
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }
}

/// A packet file fault, naming the file and line.
public struct PacketError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}
