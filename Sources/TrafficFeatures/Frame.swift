/// One frame as `CaptureReader` decodes it: the tshark fields the extractor keys on, as numbers
/// (a field that is absent is −1, or `ipVersion` 0).
///
/// Why numbers: building each packet's addresses and ports as text, then hashing that text to
/// intern it, cost more than the decoding. `packet` applies Kitsune's keying rules (the ones
/// `Packet.init(_:addresses:)` applies to tshark's text) to the numbers and interns each
/// distinct address or port once by value (`Keys`), in the order the text path interns them, so
/// the ids, and so the features, are the same.
struct Frame {
    struct IPv6: Hashable {
        var high: UInt64 = 0
        var low: UInt64 = 0
    }

    var time = 0.0, length = 0.0
    var ethSrc: UInt64 = 0, ethDst: UInt64 = 0
    var ipVersion = 0
    var ipv4Src: UInt32 = 0, ipv4Dst: UInt32 = 0
    var ipv6Src = IPv6(), ipv6Dst = IPv6()
    var tcpSrc = -1, tcpDst = -1, udpSrc = -1, udpDst = -1
    var icmpType = -1, arpOpcode = -1
    var arpSrc: UInt32 = 0, arpDst: UInt32 = 0

    /// What a packet's address or port key is made of, before it is interned.
    enum Key {
        case none, mac(UInt64), ipv4(UInt32), ipv6(IPv6), port(Int), ports(Int, Int), arp, icmp
    }

    /// Interned ids by value for one `AddressTable`: each distinct key's text is made once.
    ///
    /// Its caches are `@exclusivity(unchecked)`: read and written for every field of every
    /// packet, the run-time check of each access (the compiler cannot prove a class's accesses
    /// apart) was about six calls into the Swift runtime per packet. Nothing here holds an access
    /// across a call that could reach the same property.
    final class Keys {
        let addresses: AddressTable
        @exclusivity(unchecked) private var macs: [UInt64: Int32] = [:]
        @exclusivity(unchecked) private var ipv4s: [UInt32: Int32] = [:]
        @exclusivity(unchecked) private var ipv6s: [IPv6: Int32] = [:]
        @exclusivity(unchecked) private var ports = [Int32](repeating: -1, count: 65_536)
        /// The last MACs' and IPv4 addresses' ids (an IPv4 key has bit 63 set; a MAC's 48 bits never do).
        private let recent = IDCache()
        private static let ipv4Tag: UInt64 = 1 << 63
        @exclusivity(unchecked) private var arp: Int32 = -1
        @exclusivity(unchecked) private var icmp: Int32 = -1

        @exclusivity(unchecked) private var generation: Int

        init(_ addresses: AddressTable) {
            self.addresses = addresses
            generation = addresses.generation
        }

        /// Drops the cache when the table has released ids since it was filled.
        @inline(__always)
        func refresh() {
            guard generation != addresses.generation else { return }
            generation = addresses.generation
            recent.removeAll()
            macs.removeAll(keepingCapacity: true)
            ipv4s.removeAll(keepingCapacity: true)
            ipv6s.removeAll(keepingCapacity: true)
            for i in ports.indices { ports[i] = -1 }
            arp = -1
            icmp = -1
        }

        @inline(__always)
        func id(_ key: Key) -> Int32 {
            switch key {
            case .none: return AddressTable.empty
            case .mac(let m): return id(m, recent: m, in: &macs) { CaptureReader.macText(m) }
            case .ipv4(let ip): return id(ip, recent: UInt64(ip) | Self.ipv4Tag, in: &ipv4s) { CaptureReader.ipv4Text(ip) }
            case .ipv6(let ip):
                if let id = ipv6s[ip] { return id }
                let id = addresses.intern(CaptureReader.ipv6Text(ip))
                ipv6s[ip] = id
                return id
            case .port(let p):
                if ports[p] >= 0 { return ports[p] }
                ports[p] = addresses.intern(String(p))
                return ports[p]
            case .ports(let tcp, let udp):   // Kitsune concatenates the tcp and udp fields
                return addresses.intern(String(tcp) + String(udp))
            case .arp:
                if arp < 0 { arp = addresses.intern("arp") }
                return arp
            case .icmp:
                if icmp < 0 { icmp = addresses.intern("icmp") }
                return icmp
            }
        }

        /// `key`'s id: from `recent` (under `recentKey`), else from `map`, else interned as `text`.
        @inline(__always)
        private func id<K: Hashable>(_ key: K, recent recentKey: UInt64, in map: inout [K: Int32], _ text: () -> String) -> Int32 {
            if let id = recent.find(recentKey) { return id }
            let id: Int32
            if let known = map[key] { id = known } else {
                id = addresses.intern(text())
                map[key] = id
            }
            recent.store(recentKey, id)
            return id
        }
    }

    static func proto(_ tcp: Int, _ udp: Int) -> Key {
        if tcp >= 0 { return udp >= 0 ? .ports(tcp, udp) : .port(tcp) }
        return udp >= 0 ? .port(udp) : .none
    }

    /// Kitsune-py's keying (`FeatureExtractor.get_next_vector`, tsv branch), as `Packet.init(_:addresses:)`.
    func packet(_ keys: Keys) -> Packet {
        var srcIP = Key.none, dstIP = Key.none
        if ipVersion == 4 { srcIP = .ipv4(ipv4Src); dstIP = .ipv4(ipv4Dst) } else if ipVersion == 6 { srcIP = .ipv6(ipv6Src); dstIP = .ipv6(ipv6Dst) }
        var srcProto = Self.proto(tcpSrc, udpSrc), dstProto = Self.proto(tcpDst, udpDst)
        var arp = false
        if case .none = srcProto {
            if arpOpcode >= 0 {
                srcProto = .arp; dstProto = .arp; srcIP = .ipv4(arpSrc); dstIP = .ipv4(arpDst); arp = true
            } else if icmpType >= 0 {
                srcProto = .icmp; dstProto = .icmp
            } else if case .none = srcIP, case .none = dstIP, case .none = dstProto {
                srcIP = .mac(ethSrc); dstIP = .mac(ethDst)
            }
        }
        // Interned in the order the text path interns them.
        keys.refresh()
        let srcMAC = keys.id(.mac(ethSrc)), dstMAC = keys.id(.mac(ethDst))
        let s = keys.id(srcIP), d = keys.id(dstIP)
        let sp = keys.id(srcProto), dp = keys.id(dstProto)
        return Packet(time: time, length: length, srcMAC: srcMAC, dstMAC: dstMAC, srcIP: s, dstIP: d, srcProto: sp, dstProto: dp, isARP: arp)
    }

    /// The same fields as tshark's text, as `PacketReader` reads them.
    var fields: Packet.Fields {
        var f = Packet.Fields()
        f.time = time
        f.length = length
        f.ethSrc = CaptureReader.macText(ethSrc)
        f.ethDst = CaptureReader.macText(ethDst)
        if ipVersion == 4 { f.ipSrc = CaptureReader.ipv4Text(ipv4Src); f.ipDst = CaptureReader.ipv4Text(ipv4Dst) }
        if ipVersion == 6 { f.ipv6Src = CaptureReader.ipv6Text(ipv6Src); f.ipv6Dst = CaptureReader.ipv6Text(ipv6Dst) }
        func text(_ v: Int) -> String { v >= 0 ? String(v) : "" }
        f.tcpSrcPort = text(tcpSrc); f.tcpDstPort = text(tcpDst)
        f.udpSrcPort = text(udpSrc); f.udpDstPort = text(udpDst)
        f.icmpType = text(icmpType)
        f.arpOpcode = text(arpOpcode)
        if arpOpcode >= 0 { f.arpSrcIP = CaptureReader.ipv4Text(arpSrc); f.arpDstIP = CaptureReader.ipv4Text(arpDst) }
        return f
    }
}
