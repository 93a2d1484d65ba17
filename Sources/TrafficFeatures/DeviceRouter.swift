/// Which device a packet is scored as, the same for `ae detect` and `ae agent`: none while the
/// warm-up lasts (the first packet's time + `warmUp`: the extractor's statistics warm up, as the
/// published data's devices had been running before their rows were recorded); then the devices
/// file's entry (`DeviceMap`: source MAC, source IP, destination MAC, destination IP, the first
/// listed); else, with a default model, one device per source MAC, made on first sight; else
/// none. Both counts of packets that go to no device are kept for the summary.
///
/// Hosts made on sight are let go, as the extractor lets its streams go: when idle for
/// `idleTimeout` seconds of capture time, and, past `maxHosts`, those idle the longest until
/// three quarters remain. Otherwise a flood of spoofed source MACs (one new device each) would
/// hold memory for every address it ever sent from. The devices let go wait in `retired` for the
/// caller to close what they have open (an alert, buffered rows); listed devices always stay.
///
/// `device(of:)` is inlinable so that it is specialized for the caller's device type: it runs
/// once a packet.
public struct DeviceRouter<Device: AnyObject> {
    @usableFromInline struct Host {
        @usableFromInline let device: Device
        /// When it was first seen, in order: the summary lists hosts so.
        @usableFromInline let order: Int
        /// Its last packet's time.
        @usableFromInline var last: Double
        @usableFromInline init(device: Device, order: Int, last: Double) { self.device = device; self.order = order; self.last = last }
    }

    @usableFromInline let map: DeviceMap
    @usableFromInline let warmUp: Double
    /// The device for a source MAC no entry names (nil: such packets are skipped).
    @usableFromInline let newHost: ((_ mac: Int32) -> Device)?
    public let idleTimeout: Double
    public let maxHosts: Int
    /// One device per entry of the map, in its order.
    public let listed: [Device]
    @usableFromInline var hosts: [Int32: Host] = [:]
    @usableFromInline var made = 0
    @usableFromInline var from: Double?
    @usableFromInline var nextSweep = -Double.infinity
    /// Hosts let go and not yet taken by `takeRetired`, idle the longest first.
    public private(set) var retired: [Device] = []
    /// Packets in the warm-up.
    public var warming: Int { warmingCount }
    /// Packets of hosts with no device (without a default model).
    public var unmapped: Int { unmappedCount }
    @usableFromInline var warmingCount = 0, unmappedCount = 0
    /// Hosts let go so far.
    public private(set) var hostsLetGo = 0

    /// `listed`: one device per entry of `map.devices`, in its order. `idleTimeout` 0 keeps
    /// hosts however long they are idle; `maxHosts` still bounds them.
    public init(map: DeviceMap, listed: [Device], warmUp: Double, idleTimeout: Double = 3600, maxHosts: Int = 10_000,
                newHost: ((_ mac: Int32) -> Device)?) {
        precondition(listed.count == map.devices.count && maxHosts >= 1 && idleTimeout >= 0)
        self.map = map
        self.warmUp = warmUp
        self.newHost = newHost
        self.idleTimeout = idleTimeout
        self.maxHosts = maxHosts
        self.listed = listed
    }

    /// Hosts made on sight and still held.
    public var hostCount: Int { hosts.count }

    /// The listed devices, then the hosts still held in the order they were first seen.
    public var devices: [Device] { listed + hosts.values.sorted { $0.order < $1.order }.map(\.device) }

    /// The device `p` is scored as, or nil (counted as warming or unmapped). Hosts it lets go
    /// go to `retired`; `p`'s own device is never among them.
    @inlinable public mutating func device(of p: Packet) -> Device? {
        let from = self.from ?? p.time + warmUp
        self.from = from
        if p.time < from { warmingCount += 1; return nil }
        if let i = map.device(of: p) { return listed[i] }
        guard let newHost else { unmappedCount += 1; return nil }
        if idleTimeout > 0, p.time >= nextSweep {
            let cutoff = p.time - idleTimeout
            if nextSweep.isFinite { letGo { $0.last < cutoff } }
            nextSweep = p.time + idleTimeout / 4
        }
        if let i = hosts.index(forKey: p.srcMAC) {
            hosts.values[i].last = p.time
            return hosts.values[i].device
        }
        if hosts.count >= maxHosts { shed() }
        let d = newHost(p.srcMAC)
        hosts[p.srcMAC] = Host(device: d, order: made, last: p.time)
        made += 1
        return d
    }

    /// Marks the ids the router holds, the map's and the hosts' MACs (`AddressTable.collect`).
    public func markAddresses(_ marks: inout AddressTable.Marks) {
        map.markAddresses(&marks)
        for mac in hosts.keys { marks.insert(mac) }
    }

    /// The devices let go since the last call, idle the longest first.
    public mutating func takeRetired() -> [Device] {
        defer { retired.removeAll(keepingCapacity: true) }
        return retired
    }

    /// Lets the hosts idle the longest go until three quarters of `maxHosts` remain (ties: the
    /// one seen first goes first), so a flood of new hosts sheds once in a quarter of `maxHosts`.
    @usableFromInline mutating func shed() {
        let keep = maxHosts * 3 / 4
        guard hosts.count > keep else { return }
        var ages = hosts.values.map { HostAge(last: $0.last, order: $0.order) }   // plain numbers: they sort without reference counting
        ages.sort()
        let cutoff = ages[hosts.count - keep - 1]
        letGo { HostAge(last: $0.last, order: $0.order) <= cutoff }
    }

    @usableFromInline mutating func letGo(where gone: (Host) -> Bool) {
        var leaving: [(age: HostAge, mac: Int32)] = []
        for (mac, h) in hosts where gone(h) { leaving.append((HostAge(last: h.last, order: h.order), mac)) }
        guard !leaving.isEmpty else { return }
        leaving.sort { $0.age < $1.age }
        for l in leaving { retired.append(hosts.removeValue(forKey: l.mac)!.device) }
        hostsLetGo += leaving.count
    }

}

/// How long a host has been idle, as an order: its last packet's time, then when it was first
/// seen. Outside the generic router, so its sorts are specialized.
private struct HostAge: Comparable {
    let last: Double
    let order: Int
    static func < (a: HostAge, b: HostAge) -> Bool { (a.last, a.order) < (b.last, b.order) }
}
