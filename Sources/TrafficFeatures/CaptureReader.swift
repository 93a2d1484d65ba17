import CPcap
import Glibc
import NumberText
import Synchronization

/// Reads packets from a pcap or pcapng file through libpcap and decodes what the extractor keys
/// on, exactly as tshark's fields give it (`PacketReader` reads those fields from a CSV):
/// Ethernet (with 802.1Q/802.1ad tags), IPv4, IPv6 (past its extension headers), ARP, TCP, UDP,
/// ICMP, and the header an ICMP error quotes (tshark's first occurrence of `tcp.srcport` and
/// `udp.srcport` is then the quoted packet's). A record too short for the headers it announces,
/// a corrupt or truncated file, or a link type other than Ethernet is an error naming the file
/// and the record (1-based); `skipBad` counts and skips bad records instead.
public struct CaptureReader {
    /// The file, or the interface's name.
    public let path: String
    /// Reading from a network interface as packets arrive (`init(interface:)`), not a file.
    public let isLive: Bool
    public var skipBad: Bool
    public let addresses: AddressTable
    public private(set) var skipped = 0
    public private(set) var skippedMessages: [String] = []
    /// Live: packets the kernel dropped because the capture fell behind (libpcap's `ps_drop`).
    public private(set) var dropped = 0
    /// Asked after each packet (and, live, at least every 100 ms) with the number of packets
    /// handed to `forEach`'s body so far; true ends the capture there. (`interrupt` ends a live
    /// one after what the interface has already delivered.) It is given the count so that a
    /// caller's limit need not capture the caller's own counter: a variable an escaping closure
    /// captures is checked for exclusive access at run time at every use, once a packet.
    public var shouldStop: (_ delivered: Int) -> Bool = { _ in false }
    /// Called once the capture is open (a live one is then receiving).
    public var onOpen: () -> Void = {}

    public init(path: String, skipBad: Bool = false, addresses: AddressTable) {
        self.path = path
        self.isLive = false
        self.skipBad = skipBad
        self.addresses = addresses
    }

    /// Packets as they arrive on `interface` (Ethernet), promiscuous, until `shouldStop`. A frame
    /// that cannot be decoded is counted and skipped (a live network has odd frames; a file's
    /// bad record is an error unless `skipBad`). Needs root or CAP_NET_RAW.
    public init(interface: String, addresses: AddressTable) {
        self.path = interface
        self.isLive = true
        self.skipBad = true
        self.addresses = addresses
    }

    struct RecordFault: Error { var message: String }

    /// Calls `body` for each packet in file order.
    public mutating func forEach(_ body: (Packet) throws -> Void) throws(PacketError) {
        let pcap = try isLive ? Self.openLive(path) : Self.openFile(path)
        defer { pcap_close(pcap) }
        let link = pcap_datalink(pcap)
        guard link == DLT_EN10MB else {
            let name = pcap_datalink_val_to_name(link).map { String(cString: $0) } ?? "unknown"
            throw PacketError(file: path, line: nil, message: "link type \(link) (\(name)) is not Ethernet; only Ethernet captures can be read")
        }
        // Files are opened at nanosecond precision whatever they hold; an interface may only give microseconds.
        let nanosecondsPerUnit = pcap_get_tstamp_precision(pcap) == Int32(PCAP_TSTAMP_PRECISION_NANO) ? 1 : 1000
        onOpen()
        var record = 0, delivered = 0
        var draining = false
        var drainUntil = 0.0, lastArrival = 0.0, signalledAt = 0.0
        defer {
            var stats = pcap_stat()
            if isLive, pcap_stats(pcap, &stats) == 0 { dropped = Int(stats.ps_drop) }
        }
        let keys = Frame.Keys(addresses)
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        while true {
            let r = pcap_next_ex(pcap, &header, &data)
            if r == PCAP_ERROR_BREAK { break }   // -2: end of file
            if isLive, !draining, Self.interrupted.load(ordering: .relaxed) {
                // What the interface had delivered when the signal came is still read: every
                // packet stamped before it, until one stamped after it comes or 300 ms pass with
                // nothing (the kernel hands packets over at least every 100 ms); then the capture
                // ends. At most 10 s, for a backlog that a slow build reads slowly. (A cap of 2 s
                // cut such a drain short, and packets read by no one were counted nowhere.)
                draining = true
                lastArrival = Self.now()
                drainUntil = lastArrival + 10
                signalledAt = Self.wallClock()
            }
            if r == 0 {                          // live: nothing has arrived
                if draining ? Self.now() > min(drainUntil, lastArrival + 0.3) : shouldStop(delivered) { break }
                // Wait for packets at most 100 ms, so that a stop or a signal is seen on a quiet
                // link (libpcap's own wait on Linux has no timeout while no packet comes).
                var waiting = pollfd(fd: pcap_get_selectable_fd(pcap), events: Int16(POLLIN), revents: 0)
                _ = poll(&waiting, 1, 100)
                continue
            }
            if draining {
                lastArrival = Self.now()
                if r == 1, let h = header,
                   Double(h.pointee.ts.tv_sec) + Double(h.pointee.ts.tv_usec * nanosecondsPerUnit) / 1e9 > signalledAt { break }
            }
            record += 1
            guard r == 1, let h = header, let d = data else {
                // A broken record header: libpcap cannot find the next one, so this ends the file.
                let message = "record \(record): \(String(cString: pcap_geterr(pcap)))"
                if !skipBad { throw PacketError(file: path, line: nil, message: message) }
                skipped += 1
                if skippedMessages.count < 5 { skippedMessages.append("\(path): \(message)") }
                break
            }
            do {
                let frame = try Self.decode(UnsafeBufferPointer(start: d, count: Int(h.pointee.caplen)), length: Int(h.pointee.len),
                                            seconds: Int(h.pointee.ts.tv_sec), nanoseconds: Int(h.pointee.ts.tv_usec) * nanosecondsPerUnit)
                delivered += 1
                do { try body(frame.packet(keys)) } catch { throw PacketError(file: path, line: nil, message: "\(error)") }
            } catch let f as RecordFault {
                let message = "record \(record): \(f.message)"
                if !skipBad { throw PacketError(file: path, line: nil, message: message) }
                skipped += 1
                if skippedMessages.count < 5 { skippedMessages.append("\(path): \(message)") }
            } catch let e as PacketError {
                throw e
            } catch {
                throw PacketError(file: path, line: nil, message: "\(error)")
            }
            if draining ? Self.now() > drainUntil : shouldStop(delivered) { break }
        }
    }

    /// The wall clock, as packets are stamped.
    static func wallClock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    private static let interrupted = Atomic<Bool>(false)

    /// Ends a live capture after what the interface has already delivered: safe from a signal
    /// handler (one atomic store), seen within the 100 ms buffer timeout. For the whole process.
    public static func interrupt() { interrupted.store(true, ordering: .relaxed) }

    static func openFile(_ path: String) throws(PacketError) -> OpaquePointer {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &errbuf) else {
            throw PacketError(file: path, line: nil, message: "cannot read as pcap or pcapng: \(Self.text(errbuf))")
        }
        return pcap
    }

    static func openLive(_ interface: String) throws(PacketError) -> OpaquePointer {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let pcap = pcap_create(interface, &errbuf) else {
            throw PacketError(file: interface, line: nil, message: "cannot capture: \(Self.text(errbuf))")
        }
        _ = pcap_set_snaplen(pcap, 262_144)
        _ = pcap_set_promisc(pcap, 1)
        _ = pcap_set_timeout(pcap, 100)          // the kernel hands over a block of packets at least every 100 ms
        _ = pcap_set_tstamp_precision(pcap, Int32(PCAP_TSTAMP_PRECISION_NANO))   // microseconds where not supported
        let status = pcap_activate(pcap)
        if status < 0 {
            let reason = status == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
                : status == PCAP_ERROR_PERM_DENIED ? "permission denied (needs root or CAP_NET_RAW)"
                : String(cString: pcap_geterr(pcap))
            pcap_close(pcap)
            throw PacketError(file: interface, line: nil, message: "cannot capture: \(reason)")
        }
        // Non-blocking reads; `forEach` waits on the descriptor itself, with a timeout.
        guard pcap_setnonblock(pcap, 1, &errbuf) == 0, pcap_get_selectable_fd(pcap) >= 0 else {
            pcap_close(pcap)
            throw PacketError(file: interface, line: nil, message: "cannot capture: no pollable descriptor")
        }
        return pcap
    }

    /// Reads every packet into memory.
    public mutating func readAll() throws(PacketError) -> [Packet] {
        var out: [Packet] = []
        try forEach { out.append($0) }
        return out
    }

    /// `frame.time_epoch` as tshark prints it (nine decimals) and `float()` reads it back: the
    /// decimal `seconds.nanoseconds`, correctly rounded. A whole number of microseconds (every
    /// pcap with microsecond stamps) is an exact quotient of two doubles; others are parsed.
    /// nil for a stamp no capture writes (negative, or a fraction of a second ≥ 1).
    static func time(seconds: Int, nanoseconds: Int) -> Double? {
        guard seconds >= 0, (0..<1_000_000_000).contains(nanoseconds) else { return nil }
        if nanoseconds % 1000 == 0, seconds < 1 << 33 {
            return Double(seconds * 1_000_000 + nanoseconds / 1000) / 1e6
        }
        // seconds·10⁹ + ns has at most 19 digits until the year 2286: rounded once, without text.
        if seconds < 10_000_000_000, let t = DecimalParser.exactValue(UInt64(seconds) * 1_000_000_000 + UInt64(nanoseconds), -9) {
            return t
        }
        let fraction = String(nanoseconds)
        return Double("\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)")
    }

    /// One Ethernet frame's fields, as numbers.
    static func decode(_ b: UnsafeBufferPointer<UInt8>, length: Int, seconds: Int, nanoseconds: Int) throws -> Frame {
        var f = Frame()
        guard let t = time(seconds: seconds, nanoseconds: nanoseconds) else {
            throw RecordFault(message: "timestamp \(seconds) s + \(nanoseconds) ns is not a time")
        }
        f.time = t
        f.length = Double(length)
        func need(_ n: Int, _ what: String) throws {
            if b.count < n { throw RecordFault(message: "\(b.count) bytes captured, \(what) needs \(n) (snap length too short or record cut)") }
        }
        func u16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        try need(14, "the Ethernet header")
        f.ethDst = bytes(b, 0, 6)
        f.ethSrc = bytes(b, 6, 6)
        var type = u16(12), at = 14
        while type == 0x8100 || type == 0x88A8 {   // 802.1Q / 802.1ad tags
            try need(at + 4, "a VLAN tag")
            type = u16(at + 2)
            at += 4
        }
        switch type {
        case 0x0800: try ipv4(b, at, &f, quoted: false)
        case 0x86DD: try ipv6(b, at, &f)
        case 0x0806:
            try need(at + 28, "the ARP header")
            // Ethernet/IPv4 ARP only (hardware type 1, protocol 0x0800): tshark's arp.*.proto_ipv4.
            if u16(at) == 1, u16(at + 2) == 0x0800, b[at + 4] == 6, b[at + 5] == 4 {
                f.arpOpcode = u16(at + 6)
                f.arpSrc = UInt32(bytes(b, at + 14, 4))
                f.arpDst = UInt32(bytes(b, at + 24, 4))
            }
        default: break   // another protocol: keyed by the MACs, as tshark's empty fields are
        }
        return f
    }

    /// `n` ≤ 8 bytes at `at`, big-endian, as one integer (a MAC, an IPv4 address).
    @inline(__always)
    static func bytes(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<n { v = v << 8 | UInt64(b[at + k]) }
        return v
    }

    static func ipv4(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ f: inout Frame, quoted: Bool) throws {
        func need(_ n: Int, _ what: String) throws {
            if b.count < n { throw RecordFault(message: "\(b.count) bytes captured, \(what) needs \(n) (snap length too short or record cut)") }
        }
        try need(at + 20, quoted ? "the IPv4 header an ICMP error quotes" : "the IPv4 header")
        let ihl = Int(b[at] & 0x0F) * 4
        guard b[at] >> 4 == 4, ihl >= 20 else { throw RecordFault(message: "not a valid IPv4 header") }
        if !quoted {
            f.ipVersion = 4
            f.ipv4Src = UInt32(bytes(b, at + 12, 4))
            f.ipv4Dst = UInt32(bytes(b, at + 16, 4))
        }
        let proto = b[at + 9]
        let fragmentOffset = (Int(b[at + 6]) << 8 | Int(b[at + 7])) & 0x1FFF
        guard fragmentOffset == 0 else { return }   // a later fragment carries no transport header
        let l4 = at + ihl
        try transport(b, l4, proto, &f, quoted: quoted)
    }

    static func ipv6(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ f: inout Frame) throws {
        if b.count < at + 40 { throw RecordFault(message: "\(b.count) bytes captured, the IPv6 header needs \(at + 40)") }
        f.ipVersion = 6
        f.ipv6Src = Frame.IPv6(high: bytes(b, at + 8, 8), low: bytes(b, at + 16, 8))
        f.ipv6Dst = Frame.IPv6(high: bytes(b, at + 24, 8), low: bytes(b, at + 32, 8))
        var next = b[at + 6], p = at + 40
        // Hop-by-hop, routing, destination options: skip; a non-first fragment has no transport header.
        while true {
            switch next {
            case 0, 43, 60:
                guard b.count >= p + 2 else { return }
                next = b[p]; p += (Int(b[p + 1]) + 1) * 8
            case 44:
                guard b.count >= p + 8 else { return }
                if (Int(b[p + 2]) << 8 | Int(b[p + 3])) & 0xFFF8 != 0 { return }
                next = b[p]; p += 8
            default:
                if next == 6 || next == 17 { try transport(b, p, next, &f, quoted: false) }
                return
            }
        }
    }

    /// TCP or UDP ports, ICMP's type (and, for an error, the header it quotes). The first
    /// occurrence of each field wins, as in tshark's `-E occurrence=f`.
    static func transport(_ b: UnsafeBufferPointer<UInt8>, _ at: Int, _ proto: UInt8, _ f: inout Frame, quoted: Bool) throws {
        func u16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        switch proto {
        case 6, 17:
            // A quoted header may be cut short (RFC 792 quotes 8 bytes); the ports are its first four.
            guard b.count >= at + 4 else {
                if quoted { return }
                throw RecordFault(message: "\(b.count) bytes captured, the \(proto == 6 ? "TCP" : "UDP") header needs \(at + 4)")
            }
            if proto == 6 {
                if f.tcpSrc < 0 { f.tcpSrc = u16(at); f.tcpDst = u16(at + 2) }
            } else {
                if f.udpSrc < 0 { f.udpSrc = u16(at); f.udpDst = u16(at + 2) }
            }
        case 1 where !quoted:
            guard b.count >= at + 2 else { throw RecordFault(message: "\(b.count) bytes captured, the ICMP header needs \(at + 2)") }
            let type = b[at]
            f.icmpType = Int(type)
            // Destination unreachable, source quench, redirect, time exceeded, parameter problem
            // quote the offending datagram's IP header and the start of its payload.
            if [3, 4, 5, 11, 12].contains(type), b.count >= at + 8 + 20 {
                try ipv4(b, at + 8, &f, quoted: true)
            }
        default: break
        }
    }

    static let hex = Array("0123456789abcdef".utf8)

    /// `aa:bb:cc:dd:ee:ff`, as tshark writes a MAC.
    static func macText(_ mac: UInt64) -> String {
        var out = [UInt8](repeating: UInt8(ascii: ":"), count: 17)
        for k in 0..<6 {
            let byte = Int((mac >> UInt64(40 - 8 * k)) & 0xFF)
            out[3 * k] = hex[byte >> 4]
            out[3 * k + 1] = hex[byte & 0x0F]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func ipv4Text(_ ip: UInt32) -> String {
        "\(ip >> 24).\(ip >> 16 & 0xFF).\(ip >> 8 & 0xFF).\(ip & 0xFF)"
    }

    /// RFC 5952 text (lowercase, the longest run of zero groups as "::"), as tshark writes it.
    static func ipv6Text(_ ip: Frame.IPv6) -> String {
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { raw in
            for k in 0..<8 { raw[k] = UInt8((ip.high >> UInt64(56 - 8 * k)) & 0xFF); raw[8 + k] = UInt8((ip.low >> UInt64(56 - 8 * k)) & 0xFF) }
        }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count)) != nil else { return "" }
        return Self.text(text)
    }

    /// A C library's NUL-terminated text from a buffer it filled (zeroed first, so it always ends).
    static func text(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
