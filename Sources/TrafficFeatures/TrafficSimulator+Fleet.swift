import Glibc

/// One attack of the N-BaIoT fleet: a botnet family and one of its classes.
public enum FleetAttack: Sendable, Hashable, CustomStringConvertible {
    case gafgyt(TrafficSimulator.AttackClass)
    case mirai(MiraiClass)

    public enum MiraiClass: String, CaseIterable, Sendable { case ack, scan, syn, udp, udpplain }

    /// Every class of both families, in the UCI download's order.
    public static let all: [FleetAttack] = TrafficSimulator.AttackClass.allCases.map { .gafgyt($0) } + MiraiClass.allCases.map { .mirai($0) }

    /// The family's folder, as in the UCI download.
    public var folder: String {
        switch self { case .gafgyt: "gafgyt_attacks"; case .mirai: "mirai_attacks" }
    }
    public var className: String {
        switch self { case .gafgyt(let c): c.name; case .mirai(let c): c.rawValue }
    }
    /// `family/class`, for tables.
    public var description: String { "\(folder.prefix { $0 != "_" })/\(className)" }
}

extension TrafficSimulator {
    /// A simulator for one device of a fleet: `profile`'s addresses are the device's.
    public init(seed: UInt64, addresses: AddressTable, device profile: DeviceProfile) {
        self.init(seed: seed, addresses: addresses)
        doorbellMAC = addresses.intern(profile.mac)
        doorbellIP = addresses.intern(profile.ip)
    }

    /// One device's packets, in time order, with every packet of its network (the extractor needs
    /// them all). The device has run for `warmUp` seconds before its rows begin, as a device on a
    /// gateway has: the extractor's slow statistics (a 100-second half-life at λ = 0.01) are warm.
    /// Benign only when `attack` is nil: `rows` device packets after the warm-up. With an attack:
    /// the attack begins after the warm-up, with the benign flows going on beside it, for `rows`
    /// device packets. `firstRow` is the number of device packets before that (the rows a writer skips).
    public mutating func simulate(_ profile: DeviceProfile, rows: Int, attack: FleetAttack? = nil,
                                  start: Double = 1_505_000_000, warmUp: Double = 1800) -> (packets: [LabelledPacket], firstRow: Int) {
        out = []
        var flows = profile.flows.map { ($0, start + uniform(0, min($0.meanGap, 60))) }
        var t = start
        if let attack {
            let t0 = start + warmUp
            let cnc = (port(attack.folder == "mirai_attacks" ? 23 : 6667), ephemeralPort())
            emit(t0 - 0.5, size(60, 120), from: (doorbellMAC, doorbellIP), to: (routerMAC, cncIP), ports: (cnc.1, cnc.0), label: 1)
            emit(t0 - 0.4, size(80, 160), from: (routerMAC, cncIP), to: (doorbellMAC, doorbellIP), ports: (cnc.0, cnc.1), label: 1)
            let end: Double
            switch attack {
            case .gafgyt(let c): end = attackEpisode(c, at: t0, target: randomPublicIP(), budget: rows)
            case .mirai(let c): end = miraiEpisode(c, at: t0, target: randomPublicIP(), budget: rows)
            }
            while t < end { benign(profile, &flows, until: t + 60); t += 60 }
            out = Self.timeOrdered(out)
            var before = 0, after = 0, cut = out.count
            for (i, p) in out.enumerated() where p.isDeviceTraffic {
                if p.packet.time < t0 - 0.5 { before += 1 } else { after += 1; if after == rows { cut = i + 1; break } }
            }
            defer { out = [] }
            return (Array(out[..<cut]), before)
        }
        var deviceRows = 0
        while t < start + warmUp || deviceRows < rows {
            let before = out.count
            benign(profile, &flows, until: t + 60)
            if t + 60 > start + warmUp { deviceRows += out[before...].filter { $0.isDeviceTraffic && $0.packet.time >= start + warmUp }.count }
            t += 60
        }
        out = Self.timeOrdered(out)
        var skipped = 0, seen = 0, cut = out.count
        for (i, p) in out.enumerated() where p.isDeviceTraffic {
            if p.packet.time < start + warmUp { skipped += 1; continue }
            seen += 1
            if seen == rows { cut = i + 1; break }
        }
        defer { out = [] }
        return (Array(out[..<cut]), skipped)
    }

    /// Sessions of every flow that start before `end` (a session's later exchanges may fall after it).
    mutating func benign(_ profile: DeviceProfile, _ flows: inout [(DeviceProfile.Flow, Double)], until end: Double) {
        let device = (doorbellMAC, doorbellIP)
        for k in flows.indices {
            let flow = flows[k].0
            while flows[k].1 < end {
                let t = flows[k].1
                let last = session(flow, at: t, device: device)
                let factor = flow.followsRhythm ? rhythm(profile, t) : 1
                let gap = flow.poisson ? exponential(mean: flow.meanGap) : flow.meanGap * uniform(0.7, 1.3)
                // A flow's sessions never overlap: the gap runs from a session's last exchange.
                flows[k].1 = last + gap / factor
            }
        }
    }

    /// The daily rhythm's factor at time `t` (UTC hours), never below 0.05.
    func rhythm(_ profile: DeviceProfile, _ t: Double) -> Double {
        let hour = t.truncatingRemainder(dividingBy: 86_400) / 3600
        return max(0.05, 1 + profile.rhythm * cos(2 * Double.pi * (hour - profile.peakHour) / 24))
    }

    /// The share of cloud sessions sent to another address of the provider's pool.
    static let cloudRotation = 0.02

    /// One session; returns the time of its last exchange.
    private mutating func session(_ flow: DeviceProfile.Flow, at start: Double, device: (Int32, Int32)) -> Double {
        let peer: (Int32, Int32)
        var devicePort = ephemeralPort(), peerPort = port(flow.port)
        var deviceStarts = true
        switch flow.peer {
        case .cloud(let ip):
            // Cloud services answer from a pool behind one name: now and then the device is sent
            // to another address of the provider's /24, so new channels keep appearing, as in real
            // captures (a channel's first packet has Kitsune's jitter of "now − 0").
            if uniform() < Self.cloudRotation {
                peer = (routerMAC, addresses.intern(ip.split(separator: ".").dropLast().joined(separator: ".") + ".\(int(1, 254))"))
            } else {
                peer = (routerMAC, addresses.intern(ip))
            }
        case .router: peer = (routerMAC, routerIP)
        case .ntp: peer = (routerMAC, ntpIP); devicePort = peerPort
        case .phone: peer = (phoneMAC, phoneIP); deviceStarts = false; devicePort = port(flow.port); peerPort = ephemeralPort()
        case .lan(let ip): peer = (addresses.intern("02:00:00:00:01:" + String(ip.split(separator: ".").last ?? "")), addresses.intern(ip))
        case .multicast(let ip): peer = (addresses.intern("01:00:5e:00:00:fb"), addresses.intern(ip)); devicePort = peerPort
        case .arp:
            emit(start, 60, from: (routerMAC, routerIP), to: (broadcastMAC, device.1), ports: (arp, arp), label: 0, arp: true)
            emit(start + uniform(0.0005, 0.004), 60, from: device, to: (routerMAC, routerIP), ports: (arp, arp), label: 0, arp: true)
            return start
        }
        var t = start, last = start
        for _ in 0..<int(flow.exchanges.lowerBound, flow.exchanges.upperBound) {
            let request = size(flow.request.lowerBound, flow.request.upperBound)
            if deviceStarts {
                emit(t, request, from: device, to: peer, ports: (devicePort, peerPort), label: 0)
            } else {
                emit(t, request, from: peer, to: device, ports: (peerPort, devicePort), label: 0)
            }
            if flow.replyProbability > 0, uniform() < flow.replyProbability {
                let reply = size(flow.reply.lowerBound, flow.reply.upperBound), at = t + uniform(0.003, 0.06)
                if deviceStarts {
                    emit(at, reply, from: peer, to: device, ports: (peerPort, devicePort), label: 0)
                } else {
                    emit(at, reply, from: device, to: peer, ports: (devicePort, peerPort), label: 0)
                }
            }
            last = t
            t += exponential(mean: flow.exchangeGap)
        }
        return last
    }

    /// One Mirai attack of about `budget` device packets, as Mirai's `attack_*.c` sends them:
    /// raw packets with 512-byte random payloads by default; returns when it ends.
    mutating func miraiEpisode(_ kind: FleetAttack.MiraiClass, at start: Double, target: Int32, budget: Int) -> Double {
        let door = (doorbellMAC, doorbellIP)
        let label = 1
        var t = start
        switch kind {
        case .scan:
            // Raw SYNs to random addresses on 23 (and 2323 one time in ten); a found host is
            // reported to the loader on 48101.
            let rate = uniform(35, 60), report = port(48101)
            for _ in 0..<budget {
                let dst = randomPublicIP(), sp = ephemeralPort(), dp = port(uniform() < 0.9 ? 23 : 2323)
                emit(t, 60, from: door, to: (routerMAC, dst), ports: (sp, dp), label: label)
                if uniform() < 0.03 {
                    emit(t + uniform(0.02, 0.3), 60, from: (routerMAC, dst), to: door, ports: (dp, sp), label: label)
                    emit(t + uniform(0.3, 0.6), 74, from: door, to: (routerMAC, cncIP), ports: (ephemeralPort(), report), label: label)
                }
                t += exponential(mean: 1 / rate)
            }
        case .ack:
            // ACK flood: 512 random bytes behind a TCP header, random ports.
            let rate = uniform(30, 50)
            for _ in 0..<budget {
                emit(t, 566, from: door, to: (routerMAC, target), ports: (ephemeralPort(), port(int(1, 65535))), label: label)
                t += exponential(mean: 1 / rate)
            }
        case .syn:
            // SYN flood with options (74-byte frames), random ports.
            let rate = uniform(35, 55)
            for _ in 0..<budget {
                emit(t, 74, from: door, to: (routerMAC, target), ports: (ephemeralPort(), port(int(1, 65535))), label: label)
                t += exponential(mean: 1 / rate)
            }
        case .udp:
            // Raw UDP flood, 512-byte payloads, random ports both sides.
            let rate = uniform(30, 50)
            for _ in 0..<budget {
                emit(t, 554, from: door, to: (routerMAC, target), ports: (ephemeralPort(), port(int(1, 65535))), label: label)
                t += exponential(mean: 1 / rate)
            }
        case .udpplain:
            // UDP through a connected socket: one port pair for the whole flood, and faster.
            let rate = uniform(40, 60), sp = ephemeralPort(), dp = port(int(1, 65535))
            for _ in 0..<budget {
                emit(t, 554, from: door, to: (routerMAC, target), ports: (sp, dp), label: label)
                t += exponential(mean: 1 / rate)
            }
        }
        return t
    }
}
