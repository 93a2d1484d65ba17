import Glibc

/// Simulates the packets of a small home network with a video doorbell, benign and infected
/// by Gafgyt (BASHLITE), so the project can be trained and tested without the real N-BaIoT
/// files. Deterministic for a seed.
///
/// Benign: cloud keep-alives, DNS, NTP, ARP, motion-triggered video upload bursts and app
/// control traffic, with jittered timing and sizes so an autoencoder cannot reach zero error.
/// Attacks (from the doorbell): scan (telnet SYN scanning of random addresses), junk, UDP
/// flood, TCP flood and combo, in short episodes, with the C&C chatter that goes with them.
/// Frame sizes stay in 60…1450 bytes, sustained rates under ~50 packets/s and the clock starts
/// in September 2017 (the real captures' time): the bounds the real N-BaIoT features imply
/// (`feature_min_max.csv`: MI mean ≤ 1452, L0.1 weight ≤ 704, HH_jit mean ≤ 1.506e9).
public struct TrafficSimulator {
    static let maxFrame = 1450

    /// Attack classes as the synthetic files label them (`target`).
    public enum AttackClass: Int, CaseIterable, Sendable {
        case combo = 1, junk, scan, tcp, udp
        public var name: String { ["", "combo", "junk", "scan", "tcp", "udp"][rawValue] }
    }

    /// A packet with its label (0 benign) and whether it belongs in the output (it involves the device).
    public struct LabelledPacket: Sendable {
        public var packet: Packet
        public var label: Int
        public var isDeviceTraffic: Bool
    }

    public let addresses: AddressTable
    private var rng: SplitMix64Lite
    /// Target share of attack rows.
    public var attackShare: Double

    // Hosts.
    /// The device whose traffic is labelled (rebound to a capture's host by `inject`).
    var doorbellMAC: Int32, doorbellIP: Int32
    let routerMAC: Int32, routerIP: Int32
    let phoneMAC: Int32, phoneIP: Int32, broadcastMAC: Int32
    let cloudIPs: [Int32], ntpIP: Int32, cncIP: Int32
    let arp: Int32

    public init(seed: UInt64, addresses: AddressTable, attackShare: Double = 0.2) {
        self.addresses = addresses
        self.rng = SplitMix64Lite(seed: seed)
        self.attackShare = attackShare
        doorbellMAC = addresses.intern("00:1e:c0:8a:3c:5f"); doorbellIP = addresses.intern("192.168.1.20")
        routerMAC = addresses.intern("4c:09:d4:c6:12:7b"); routerIP = addresses.intern("192.168.1.1")
        phoneMAC = addresses.intern("a4:83:e7:11:22:33"); phoneIP = addresses.intern("192.168.1.30")
        broadcastMAC = addresses.intern("ff:ff:ff:ff:ff:ff")
        cloudIPs = ["52.24.43.67", "52.25.66.250", "54.213.10.4"].map(addresses.intern)
        ntpIP = addresses.intern("129.6.15.28")
        cncIP = addresses.intern("185.62.190.7")
        arp = addresses.intern("arp")
    }

    // MARK: Random helpers

    mutating func uniform() -> Double { rng.nextDouble() }
    mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * rng.nextDouble() }
    mutating func int(_ a: Int, _ b: Int) -> Int { a + Int(rng.next() % UInt64(b - a + 1)) }
    mutating func exponential(mean: Double) -> Double { -mean * log(1 - rng.nextDouble()) }
    mutating func port(_ p: Int) -> Int32 { addresses.intern(String(p)) }
    mutating func ephemeralPort() -> Int32 { port(int(32768, 60999)) }
    mutating func size(_ a: Int, _ b: Int) -> Double { Double(min(Self.maxFrame, max(60, int(a, b)))) }

    mutating func randomPublicIP() -> Int32 {
        var a = int(1, 223)
        while a == 10 || a == 127 || a == 172 || a == 192 { a = int(1, 223) }
        return addresses.intern("\(a).\(int(0, 255)).\(int(0, 255)).\(int(1, 254))")
    }

    // MARK: Generation

    var out: [LabelledPacket] = []

    mutating func emit(_ t: Double, _ len: Double, from: (Int32, Int32), to: (Int32, Int32),
                               ports: (Int32, Int32), label: Int, arp: Bool = false) {
        let p = Packet(time: t, length: len, srcMAC: from.0, dstMAC: to.0, srcIP: from.1, dstIP: to.1,
                       srcProto: ports.0, dstProto: ports.1, isARP: arp)
        out.append(LabelledPacket(packet: p, label: label, isDeviceTraffic: from.1 == doorbellIP || to.1 == doorbellIP))
    }

    /// Simulates until `rows` device packets exist; returns the packets in time order, cut at
    /// the `rows`-th device packet (every packet is returned: the extractor needs the whole network).
    public mutating func generate(rows: Int, start: Double = 1_505_000_000) -> [LabelledPacket] {
        out = []
        out.reserveCapacity(rows * 12 / 10)
        let door = (doorbellMAC, doorbellIP), router = (routerMAC, routerIP), phone = (phoneMAC, phoneIP)
        var t = start
        var deviceRows = 0
        var nextKeepAlive = start + uniform(0, 30), nextDNS = start + uniform(0, 60), nextNTP = start + uniform(0, 300)
        var nextARP = start + uniform(0, 60), nextMotion = start + uniform(5, 60), nextApp = start + uniform(10, 120)
        var motion: (until: Double, next: Double, rate: Double, port: Int32)? = nil
        var attackOrder = AttackClass.allCases
        let episodeBudget = max(20, Int(Double(rows) * attackShare / 10))
        let cncPort = port(6667)
        var cncSession = ephemeralPort()

        // Benign traffic for the benign share of the rows, then attack episodes carrying the
        // rest, spread over the same time span: the share holds at any file size.
        let attackTarget = Int((Double(rows) * attackShare).rounded())
        while deviceRows < rows - attackTarget {
            let step = 1.0   // one simulated second at a time
            let end = t + step
            let before = out.count
            // Keep-alive to the cloud over TLS, with the server's ACK.
            while nextKeepAlive < end {
                let cloud = cloudIPs[int(0, cloudIPs.count - 1)], sp = ephemeralPort(), dp = port(443)
                emit(nextKeepAlive, size(66, 160), from: door, to: (routerMAC, cloud), ports: (sp, dp), label: 0)
                emit(nextKeepAlive + uniform(0.02, 0.12), size(60, 120), from: (routerMAC, cloud), to: door, ports: (dp, sp), label: 0)
                nextKeepAlive += uniform(20, 40)
            }
            // DNS lookups through the router.
            while nextDNS < end {
                let sp = ephemeralPort(), dp = port(53)
                emit(nextDNS, size(70, 95), from: door, to: router, ports: (sp, dp), label: 0)
                emit(nextDNS + uniform(0.002, 0.03), size(100, 260), from: router, to: door, ports: (dp, sp), label: 0)
                nextDNS += exponential(mean: 120)
            }
            // NTP.
            while nextNTP < end {
                let p = port(123)
                emit(nextNTP, 90, from: door, to: (routerMAC, ntpIP), ports: (p, p), label: 0)
                emit(nextNTP + uniform(0.01, 0.08), 90, from: (routerMAC, ntpIP), to: door, ports: (p, p), label: 0)
                nextNTP += uniform(600, 1200)
            }
            // ARP: the router asks for the doorbell, which answers (both padded to 60 bytes).
            while nextARP < end {
                emit(nextARP, 60, from: router, to: (broadcastMAC, doorbellIP), ports: (arp, arp), label: 0, arp: true)
                emit(nextARP + uniform(0.0005, 0.004), 60, from: door, to: router, ports: (arp, arp), label: 0, arp: true)
                nextARP += uniform(45, 75)
            }
            // Motion: a video upload burst of several seconds, with ACKs, emitted as time passes
            // (so row counts and attack scheduling see the burst second by second).
            if motion == nil && nextMotion < end {
                motion = (until: nextMotion + uniform(5, 20), next: nextMotion, rate: uniform(20, 45), port: ephemeralPort())
            }
            if let m = motion {
                let cloud = cloudIPs[0], dp = port(443)
                var tt = m.next
                while tt < end && tt < m.until {
                    let big = uniform() < 0.8
                    emit(tt, big ? size(1200, 1450) : size(200, 900), from: door, to: (routerMAC, cloud), ports: (m.port, dp), label: 0)
                    if uniform() < 0.5 { emit(tt + uniform(0.005, 0.04), size(60, 66), from: (routerMAC, cloud), to: door, ports: (dp, m.port), label: 0) }
                    tt += exponential(mean: 1 / m.rate)
                }
                if tt >= m.until {
                    motion = nil
                    nextMotion = m.until + exponential(mean: 150)
                } else {
                    motion!.next = tt
                }
            }
            // The owner's phone opens the live view / changes settings over the LAN.
            while nextApp < end {
                let sp = ephemeralPort(), dp = port(8080)
                var tt = nextApp
                for _ in 0..<int(3, 12) {
                    emit(tt, size(120, 600), from: phone, to: door, ports: (sp, dp), label: 0)
                    emit(tt + uniform(0.003, 0.05), size(200, 1200), from: door, to: phone, ports: (dp, sp), label: 0)
                    tt += uniform(0.05, 0.8)
                }
                nextApp += exponential(mean: 400)
            }
            deviceRows += out[before...].filter(\.isDeviceTraffic).count
            t = end
        }
        let span = max(t - start, 1)
        let episodes = max(AttackClass.allCases.count, attackTarget / max(episodeBudget, 1))
        var remaining = attackTarget
        for e in 0..<episodes where remaining > 0 {
            if e % attackOrder.count == 0 { shuffle(&attackOrder) }
            let kind = attackOrder[e % attackOrder.count]
            let at = start + span * (Double(e) + uniform(0.05, 0.9)) / Double(episodes)
            let before = out.count
            // C&C: the bot checks in and receives the command.
            emit(at - 0.5, size(60, 120), from: door, to: (routerMAC, cncIP), ports: (cncSession, cncPort), label: kind.rawValue)
            emit(at - 0.4, size(80, 160), from: (routerMAC, cncIP), to: door, ports: (cncPort, cncSession), label: kind.rawValue)
            attackEpisode(kind, at: at, target: randomPublicIP(), budget: max(1, remaining / (episodes - e) - 2))
            remaining -= out[before...].filter(\.isDeviceTraffic).count
            if uniform() < 0.3 { cncSession = ephemeralPort() }
        }
        out = Self.timeOrdered(out)
        // Cut at the rows-th device packet.
        var seen = 0
        var cut = out.count
        for (i, p) in out.enumerated() where p.isDeviceTraffic {
            seen += 1
            if seen == rows { cut = i + 1; break }
        }
        let result = Array(out[..<cut])
        out = []
        return result
    }

    /// Sorted by time; packets at equal times keep their order (capture order, request before reply).
    static func timeOrdered(_ a: [LabelledPacket]) -> [LabelledPacket] {
        a.indices.sorted { (a[$0].packet.time, $0) < (a[$1].packet.time, $1) }.map { a[$0] }
    }

    mutating func shuffle(_ a: inout [AttackClass]) {
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(0, i)) }
    }

    /// One attack episode of about `budget` device packets; returns when it ends.
    @discardableResult
    mutating func attackEpisode(_ kind: AttackClass, at start: Double, target: Int32, budget: Int) -> Double {
        let door = (doorbellMAC, doorbellIP)
        let label = kind.rawValue
        var t = start
        switch kind {
        case .scan:
            // Telnet SYN scan of random addresses; a few answer with RST or SYN-ACK.
            let rate = uniform(25, 60)
            for _ in 0..<budget {
                let dst = randomPublicIP(), sp = ephemeralPort(), dp = port(uniform() < 0.9 ? 23 : 2323)
                emit(t, 60, from: door, to: (routerMAC, dst), ports: (sp, dp), label: label)
                if uniform() < 0.08 { emit(t + uniform(0.02, 0.3), 60, from: (routerMAC, dst), to: door, ports: (dp, sp), label: label) }
                t += exponential(mean: 1 / rate)
            }
        case .junk:
            // Random junk strings to the target, random sizes.
            let rate = uniform(20, 50), sp = ephemeralPort(), dp = port(int(1, 65535))
            for _ in 0..<budget {
                emit(t, size(80, 1100), from: door, to: (routerMAC, target), ports: (sp, dp), label: label)
                t += exponential(mean: 1 / rate)
            }
        case .udp:
            // UDP flood: fixed large datagrams to random ports.
            let rate = uniform(30, 50), sp = ephemeralPort(), len = size(560, 1450)
            for _ in 0..<budget {
                emit(t, len, from: door, to: (routerMAC, target), ports: (sp, port(int(1, 65535))), label: label)
                t += exponential(mean: 1 / rate)
            }
        case .tcp:
            // TCP flood: small segments with raw flags to one port, from changing source ports.
            let rate = uniform(30, 50), dp = port([80, 443, 22, 8080][int(0, 3)])
            for i in 0..<budget {
                let sp = ephemeralPort()
                emit(t, size(60, 74), from: door, to: (routerMAC, target), ports: (sp, dp), label: label)
                if i % 7 == 0 { emit(t + uniform(0.01, 0.1), 60, from: (routerMAC, target), to: door, ports: (dp, sp), label: label) }
                t += exponential(mean: 1 / rate)
            }
        case .combo:
            // Connect to the target, then send junk over the connection.
            let rate = uniform(20, 45)
            var i = 0
            while i < budget {
                let sp = ephemeralPort(), dp = port(int(1, 1024))
                emit(t, 74, from: door, to: (routerMAC, target), ports: (sp, dp), label: label)
                emit(t + uniform(0.01, 0.08), 74, from: (routerMAC, target), to: door, ports: (dp, sp), label: label)
                i += 2
                for _ in 0..<int(2, 8) where i < budget {
                    t += exponential(mean: 1 / rate)
                    emit(t, size(100, 1200), from: door, to: (routerMAC, target), ports: (sp, dp), label: label)
                    i += 1
                }
                t += exponential(mean: 1 / rate)
            }
        }
        return t
    }

    // MARK: Injection into a real capture

    /// Merges simulated attacks from `device` (an IP that sends in `capture`) into a real, benign
    /// capture: the device's MAC is taken from the capture and episodes are spread over its time
    /// span so that about `attackShare` of the packets are attacks. Every packet is an output row.
    public mutating func inject(into capture: [Packet], device: Int32) -> [LabelledPacket]? {
        guard let first = capture.first, let last = capture.last,
              let mac = capture.first(where: { $0.srcIP == device })?.srcMAC else { return nil }
        let saved = (doorbellMAC, doorbellIP)
        doorbellMAC = mac; doorbellIP = device
        defer { (doorbellMAC, doorbellIP) = saved }
        out = []
        let attackRows = Int(Double(capture.count) * attackShare / (1 - attackShare))
        let episodes = max(AttackClass.allCases.count, min(50, attackRows / 500))
        let per = max(1, attackRows / episodes)
        let span = max(last.time - first.time, 1)
        var order = AttackClass.allCases
        for e in 0..<episodes {
            if e % order.count == 0 { shuffle(&order) }
            let start = first.time + span * (Double(e) + uniform(0.05, 0.5)) / Double(episodes)
            attackEpisode(order[e % order.count], at: start, target: randomPublicIP(), budget: per)
        }
        var merged = capture.map { LabelledPacket(packet: $0, label: 0, isDeviceTraffic: true) }
        merged += out.map { var p = $0; p.isDeviceTraffic = true; return p }
        out = []
        merged = Self.timeOrdered(merged)
        return merged
    }
}

/// SplitMix64 again (TrafficFeatures does not depend on the core module).
struct SplitMix64Lite {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1p-53 }
}
