import CPcap
import Glibc

/// Writes packets as an Ethernet pcap with nanosecond timestamps, through libpcap: for each, the
/// frame a capture of it would hold, cut after the headers the extractor reads (as a short snap
/// length cuts it), with its length on the wire. What `CaptureReader` reads back keys to the same
/// packet. For simulated traffic (`ae synth --gateway`): ports go in UDP for the usual UDP
/// services and in TCP otherwise (the features do not tell them apart).
public final class CaptureWriter {
    public let path: String
    private let pcap: OpaquePointer
    private let dumper: OpaquePointer
    private var frame = [UInt8](repeating: 0, count: 64)
    public private(set) var written = 0

    public init(path: String) throws(PacketError) {
        self.path = path
        guard let pcap = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262_144, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PacketError(file: path, line: nil, message: "libpcap cannot open a capture to write")
        }
        guard let dumper = pcap_dump_open(pcap, path) else {
            let message = String(cString: pcap_geterr(pcap))
            pcap_close(pcap)
            throw PacketError(file: path, line: nil, message: "cannot create: \(message)")
        }
        self.pcap = pcap
        self.dumper = dumper
    }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(pcap)
    }

    /// Flushes what libpcap buffered; a failed write is an error naming the file.
    public func flush() throws(PacketError) {
        if pcap_dump_flush(dumper) != 0 { throw PacketError(file: path, line: nil, message: "write failed: \(String(cString: strerror(errno)))") }
    }

    static let udpServices: Set<Int> = [53, 67, 68, 123, 137, 138, 1900, 5353, 5683]

    /// One packet; `addresses` holds the names of its ids.
    public func write(_ p: Packet, addresses: AddressTable) throws(PacketError) {
        let name = addresses.name
        var n = 0
        func put(_ bytes: [UInt8]) { for b in bytes { frame[n] = b; n += 1 } }
        func put16(_ v: Int) { put([UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]) }
        guard let dstMAC = Self.mac(name(p.dstMAC)), let srcMAC = Self.mac(name(p.srcMAC)) else {
            throw PacketError(file: path, line: nil, message: "packet \(written + 1): its MAC addresses are not MACs")
        }
        put(dstMAC); put(srcMAC)
        let srcIP = Self.ipv4(name(p.srcIP)), dstIP = Self.ipv4(name(p.dstIP))
        if p.isARP, let srcIP, let dstIP {
            put16(0x0806); put16(1); put16(0x0800); put([6, 4])
            put16(dstMAC == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] ? 1 : 2)
            put(srcMAC); put(srcIP); put(dstMAC == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] ? [0, 0, 0, 0, 0, 0] : dstMAC); put(dstIP)
        } else if let srcIP, let dstIP {
            let srcProto = name(p.srcProto), dstProto = name(p.dstProto)
            let ports = (Int(srcProto), Int(dstProto))
            let proto: UInt8
            if srcProto == "icmp" { proto = 1 } else if let s = ports.0, let d = ports.1 {
                proto = Self.udpServices.contains(s) || Self.udpServices.contains(d) ? 17 : 6
            } else { proto = 47 }   // no ports: GRE, which the extractor keys by addresses alone
            put16(0x0800)
            put([0x45, 0]); put16(max(Int(p.length) - 14, 20)); put([0, 0, 0x40, 0, 64, proto, 0, 0]); put(srcIP); put(dstIP)
            if proto == 1 { put([8, 0, 0, 0]) } else if proto != 47 { put16(ports.0!); put16(ports.1!) }
        } else {
            put16(0x88B5)   // a frame with no IP layer: keyed by its MACs
        }
        let t = p.time.rounded(.down)
        var ns = Int(((p.time - t) * 1e9).rounded())
        var seconds = Int(t)
        if ns >= 1_000_000_000 { seconds += 1; ns -= 1_000_000_000 }
        var header = pcap_pkthdr()
        header.ts.tv_sec = seconds
        header.ts.tv_usec = ns   // nanoseconds: the capture was opened with nanosecond precision
        header.caplen = UInt32(n)
        header.len = UInt32(max(Int(p.length), n))
        frame.withUnsafeBufferPointer { f in
            pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &header, f.baseAddress!)
        }
        written += 1
    }

    static func mac(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ":")
        guard parts.count == 6 else { return nil }
        let bytes = parts.compactMap { UInt8($0, radix: 16) }
        return bytes.count == 6 ? bytes : nil
    }

    static func ipv4(_ s: String) -> [UInt8]? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        let bytes = parts.compactMap { UInt8($0) }
        return bytes.count == 4 ? bytes : nil
    }
}
