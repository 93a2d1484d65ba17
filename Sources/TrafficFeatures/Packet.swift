/// One packet, reduced to what AfterImage uses, keyed as Kitsune-py's `FeatureExtractor` keys it:
/// - IPv4/IPv6: the IP addresses; ports from TCP or UDP (Kitsune concatenates the tcp and udp
///   port strings, so whichever is present);
/// - ARP: the addresses from the ARP header, protocol `arp`; its socket is keyed by the MACs;
/// - ICMP without ports: protocol `icmp` (an ICMP error quoting a header carries its ports);
/// - a frame with no IP layer and no ports: the MACs stand in for the addresses.
public struct Packet: Sendable, Equatable {
    /// Epoch seconds (tshark `frame.time_epoch`).
    public var time: Double
    /// Frame length in bytes (tshark `frame.len`): the value the statistics are taken of.
    public var length: Double
    public var srcMAC: Int32
    public var dstMAC: Int32
    public var srcIP: Int32
    public var dstIP: Int32
    /// Port, `arp`, `icmp` or empty, interned.
    public var srcProto: Int32
    public var dstProto: Int32
    public var isARP: Bool

    public init(time: Double, length: Double, srcMAC: Int32, dstMAC: Int32, srcIP: Int32, dstIP: Int32,
                srcProto: Int32, dstProto: Int32, isARP: Bool) {
        self.time = time; self.length = length
        self.srcMAC = srcMAC; self.dstMAC = dstMAC; self.srcIP = srcIP; self.dstIP = dstIP
        self.srcProto = srcProto; self.dstProto = dstProto; self.isARP = isARP
    }

    /// The tshark fields of one packet, as strings; empty when the field is absent.
    public struct Fields: Sendable {
        public var time = 0.0, length = 0.0
        public var ethSrc = "", ethDst = "", ipSrc = "", ipDst = ""
        public var tcpSrcPort = "", tcpDstPort = "", udpSrcPort = "", udpDstPort = ""
        public var icmpType = "", arpOpcode = "", arpSrcIP = "", arpDstIP = "", ipv6Src = "", ipv6Dst = ""
        public init() {}
    }

    /// Applies Kitsune-py's keying rules (`FeatureExtractor.get_next_vector`, tsv branch).
    public init(_ f: Fields, addresses: AddressTable) {
        var srcIP = "", dstIP = ""
        if !f.ipSrc.isEmpty { srcIP = f.ipSrc; dstIP = f.ipDst } else if !f.ipv6Src.isEmpty { srcIP = f.ipv6Src; dstIP = f.ipv6Dst }
        var srcProto = f.tcpSrcPort + f.udpSrcPort
        var dstProto = f.tcpDstPort + f.udpDstPort
        var arp = false
        if srcProto.isEmpty {
            if !f.arpOpcode.isEmpty {
                srcProto = "arp"; dstProto = "arp"; srcIP = f.arpSrcIP; dstIP = f.arpDstIP; arp = true
            } else if !f.icmpType.isEmpty {
                srcProto = "icmp"; dstProto = "icmp"
            } else if srcIP.isEmpty && dstIP.isEmpty && dstProto.isEmpty {
                srcIP = f.ethSrc; dstIP = f.ethDst
            }
        }
        self.init(time: f.time, length: f.length, srcMAC: addresses.intern(f.ethSrc), dstMAC: addresses.intern(f.ethDst),
                  srcIP: addresses.intern(srcIP), dstIP: addresses.intern(dstIP),
                  srcProto: addresses.intern(srcProto), dstProto: addresses.intern(dstProto), isARP: arp)
    }
}
