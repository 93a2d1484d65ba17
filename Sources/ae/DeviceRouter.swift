import TrafficFeatures

/// Which device a packet is scored as, the same for `ae detect` and `ae agent`: none while the
/// warm-up lasts (the first packet's time + `warmUp`: the extractor's statistics warm up, as the
/// published data's devices had been running before their rows were recorded); then the devices
/// file's entry (`DeviceMap`: source MAC, source IP, destination MAC, destination IP, the first
/// listed); else, with a default model, one device per source MAC, made on first sight; else
/// none. Both counts of packets that go to no device are kept for the summary.
struct DeviceRouter<Device: AnyObject> {
    private let map: DeviceMap
    private let warmUp: Double
    /// The device for a source MAC no entry names (nil: such packets are skipped).
    private let newHost: ((_ mac: Int32) -> Device)?
    /// The listed devices in the map's order, then the hosts as they were first seen.
    private(set) var devices: [Device]
    private var hosts: [Int32: Int] = [:]
    private var from = -Double.infinity
    private var started = false
    /// Packets in the warm-up.
    private(set) var warming = 0
    /// Packets of hosts with no device (without a default model).
    private(set) var unmapped = 0

    /// `listed`: one device per entry of `map.devices`, in its order.
    init(map: DeviceMap, listed: [Device], warmUp: Double, newHost: ((_ mac: Int32) -> Device)?) {
        precondition(listed.count == map.devices.count)
        self.map = map
        self.warmUp = warmUp
        self.newHost = newHost
        self.devices = listed
    }

    /// The device `p` is scored as, or nil (counted as warming or unmapped).
    mutating func device(of p: Packet) -> Device? {
        if !started { started = true; from = p.time + warmUp }
        if p.time < from { warming += 1; return nil }
        if let i = map.device(of: p) { return devices[i] }
        guard let newHost else { unmapped += 1; return nil }
        if let i = hosts[p.srcMAC] { return devices[i] }
        let d = newHost(p.srcMAC)
        hosts[p.srcMAC] = devices.count
        devices.append(d)
        return d
    }
}
