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
        var cells = [Substring](repeating: "", count: Self.fields.count)
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
                    let p = try Self.parse(line, columns: columns, delimiter: delimiter, cells: &cells, addresses: addresses)
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

    static func parse(_ line: UnsafeBufferPointer<UInt8>, columns: [Int], delimiter: UInt8, cells: inout [Substring],
                      addresses: AddressTable) throws -> Packet {
        for i in cells.indices { cells[i] = "" }
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: Character(Unicode.Scalar(delimiter)), omittingEmptySubsequences: false)
        if parts.count != columns.count { throw LineFault(message: "expected \(columns.count) fields, found \(parts.count)") }
        for (i, part) in parts.enumerated() where columns[i] >= 0 { cells[columns[i]] = part }
        var f = Packet.Fields()
        guard let t = Double(cells[0]), t.isFinite, t >= 0 else { throw LineFault(message: "frame.time_epoch '\(cells[0].prefix(40))' is not a time") }
        guard let len = Int(cells[1]), len >= 0, len <= 1 << 20 else { throw LineFault(message: "frame.len '\(cells[1].prefix(40))' is not a length") }
        f.time = t
        f.length = Double(len)
        f.ethSrc = String(cells[2]); f.ethDst = String(cells[3])
        f.ipSrc = String(cells[4]); f.ipDst = String(cells[5])
        f.tcpSrcPort = String(cells[6]); f.tcpDstPort = String(cells[7])
        f.udpSrcPort = String(cells[8]); f.udpDstPort = String(cells[9])
        for (name, cell) in [("tcp.srcport", cells[6]), ("tcp.dstport", cells[7]), ("udp.srcport", cells[8]), ("udp.dstport", cells[9])]
        where !cell.isEmpty && (Int(cell).map { $0 < 0 || $0 > 65535 } ?? true) {
            throw LineFault(message: "\(name) '\(cell.prefix(40))' is not a port")
        }
        f.icmpType = String(cells[10]); f.arpOpcode = String(cells[12])
        f.arpSrcIP = String(cells[14]); f.arpDstIP = String(cells[16])
        f.ipv6Src = String(cells[17]); f.ipv6Dst = String(cells[18])
        return Packet(f, addresses: addresses)
    }
}

/// A packet file fault, naming the file and line.
public struct PacketError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}
