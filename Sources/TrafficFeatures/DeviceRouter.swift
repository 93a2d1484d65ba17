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
public struct DeviceRouter<Device: AnyObject> {
    private struct Host {
        let device: Device
        /// When it was first seen, in order: the summary lists hosts so.
        let order: Int
        /// Its last packet's time.
        var last: Double
    }

    private let map: DeviceMap
    private let warmUp: Double
    /// The device for a source MAC no entry names (nil: such packets are skipped).
    private let newHost: ((_ mac: Int32) -> Device)?
    public let idleTimeout: Double
    public let maxHosts: Int
    /// One device per entry of the map, in its order.
    public let listed: [Device]
    private var hosts: [Int32: Host] = [:]
    private var made = 0
    private var from: Double?
    private var nextSweep = -Double.infinity
    /// Hosts let go and not yet taken by `takeRetired`, idle the longest first.
    public private(set) var retired: [Device] = []
    /// Packets in the warm-up.
    public private(set) var warming = 0
    /// Packets of hosts with no device (without a default model).
    public private(set) var unmapped = 0
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
    public mutating func device(of p: Packet) -> Device? {
        let from = self.from ?? p.time + warmUp
        self.from = from
        if p.time < from { warming += 1; return nil }
        if let i = map.device(of: p) { return listed[i] }
        guard let newHost else { unmapped += 1; return nil }
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

    /// The devices let go since the last call, idle the longest first.
    public mutating func takeRetired() -> [Device] {
        defer { retired.removeAll(keepingCapacity: true) }
        return retired
    }

    /// Lets the hosts idle the longest go until three quarters of `maxHosts` remain (ties: the
    /// one seen first goes first), so a flood of new hosts sheds once in a quarter of `maxHosts`.
    private mutating func shed() {
        let keep = maxHosts * 3 / 4
        guard hosts.count > keep else { return }
        let byAge = hosts.values.sorted { ($0.last, $0.order) < ($1.last, $1.order) }
        let cutoff = byAge[hosts.count - keep - 1]
        letGo { ($0.last, $0.order) <= (cutoff.last, cutoff.order) }
    }

    private mutating func letGo(where gone: (Host) -> Bool) {
        let leaving = hosts.filter { gone($0.value) }
        guard !leaving.isEmpty else { return }
        for mac in leaving.keys { hosts[mac] = nil }
        retired += leaving.values.sorted { ($0.last, $0.order) < ($1.last, $1.order) }.map(\.device)
        hostsLetGo += leaving.count
    }
}
