import Testing
@testable import TrafficFeatures

/// Packets go to the listed device, or to one device per source MAC made on sight; hosts made on
/// sight are let go when idle and past the cap, so a flood of spoofed MACs holds bounded memory.
@Suite struct DeviceRouterTests {
    final class Device {
        let name: String
        init(_ name: String) { self.name = name }
    }

    struct Harness {
        let table = AddressTable()
        var router: DeviceRouter<Device>
        init(listed: [(String, String)] = [], warmUp: Double = 0, idleTimeout: Double = 3600, maxHosts: Int = 10_000, hosts: Bool = true) throws {
            let map = try DeviceMap(listed.map { (address: $0.0, model: $0.1) }, source: "devices.json", addresses: table)
            let table = self.table
            router = DeviceRouter(map: map, listed: map.devices.map { Device($0.address) }, warmUp: warmUp, idleTimeout: idleTimeout,
                                  maxHosts: maxHosts, newHost: hosts ? { Device(table.name($0)) } : nil)
        }
        mutating func route(_ t: Double, from mac: String, ip: String = "10.0.0.9") -> String? {
            let p = Packet(time: t, length: 60, srcMAC: table.intern(mac), dstMAC: table.intern("ff:ff:ff:ff:ff:ff"),
                           srcIP: table.intern(ip), dstIP: table.intern("10.0.0.1"), srcProto: 0, dstProto: 0, isARP: false)
            return router.device(of: p)?.name
        }
    }

    static func mac(_ i: Int) -> String {
        "02:00:" + [i >> 24, i >> 16, i >> 8, i].map { String(format: "%02x", $0 & 255) }.joined(separator: ":")
    }

    @Test func listedDevicesThenOneDevicePerSourceMACAfterTheWarmUp() throws {
        var h = try Harness(listed: [("aa:aa:aa:aa:aa:aa", "cam")], warmUp: 10)
        #expect(h.route(100, from: "aa:aa:aa:aa:aa:aa") == nil && h.route(109.9, from: "bb:bb:bb:bb:bb:bb") == nil)
        #expect(h.router.warming == 2)
        #expect(h.route(110, from: "aa:aa:aa:aa:aa:aa") == "aa:aa:aa:aa:aa:aa")
        #expect(h.route(111, from: "bb:bb:bb:bb:bb:bb") == "bb:bb:bb:bb:bb:bb")
        let first = h.router.devices.last
        #expect(h.route(112, from: "bb:bb:bb:bb:bb:bb") == "bb:bb:bb:bb:bb:bb" && h.router.devices.last === first)
        #expect(h.route(113, from: "cc:cc:cc:cc:cc:cc") != nil)
        #expect(h.router.devices.map(\.name) == ["aa:aa:aa:aa:aa:aa", "bb:bb:bb:bb:bb:bb", "cc:cc:cc:cc:cc:cc"])
        var skip = try Harness(listed: [("aa:aa:aa:aa:aa:aa", "cam")], hosts: false)
        #expect(skip.route(0, from: "bb:bb:bb:bb:bb:bb") == nil && skip.router.unmapped == 1 && skip.router.devices.count == 1)
    }

    @Test func hostsIdlePastTheTimeoutAreLetGoAndComeBackAfresh() throws {
        var h = try Harness(listed: [("aa:aa:aa:aa:aa:aa", "cam")], idleTimeout: 60)
        _ = h.route(0, from: "aa:aa:aa:aa:aa:aa")
        _ = h.route(0, from: "bb:bb:bb:bb:bb:bb")
        let bb = h.router.devices.last!
        _ = h.route(30, from: "cc:cc:cc:cc:cc:cc")
        #expect(h.router.takeRetired().isEmpty)
        _ = h.route(200, from: "dd:dd:dd:dd:dd:dd")   // the sweep: bb and cc idle past 60 s, the listed camera stays
        #expect(h.router.takeRetired().map(\.name) == ["bb:bb:bb:bb:bb:bb", "cc:cc:cc:cc:cc:cc"])
        #expect(h.router.takeRetired().isEmpty && h.router.hostsLetGo == 2)
        #expect(h.router.devices.map(\.name) == ["aa:aa:aa:aa:aa:aa", "dd:dd:dd:dd:dd:dd"])
        #expect(h.route(201, from: "bb:bb:bb:bb:bb:bb") == "bb:bb:bb:bb:bb:bb" && h.router.devices.last !== bb)
    }

    /// A flood of spoofed source MACs, 20,000 of them in one second of capture time (no host is
    /// idle past the timeout): at most `maxHosts` are held, each shed lets a quarter go, and
    /// every host made is either held or handed back once.
    @Test func aFloodOfSourceMACsStaysWithinMaxHosts() throws {
        var h = try Harness(listed: [("aa:aa:aa:aa:aa:aa", "cam")], maxHosts: 400)
        var peak = 0, retired = 0, sheds = 0
        for i in 0..<20_000 {
            #expect(h.route(Double(i) * 5e-5, from: Self.mac(i)) == Self.mac(i))
            if i % 97 == 0 { _ = h.route(Double(i) * 5e-5, from: "aa:aa:aa:aa:aa:aa") }
            peak = max(peak, h.router.hostCount)
            let gone = h.router.takeRetired()
            if !gone.isEmpty {
                sheds += 1
                #expect(gone.count == 100 && !gone.contains { $0.name == Self.mac(i) })
                retired += gone.count
            }
        }
        // Full at the 401st host, then every 100 new ones: 400 held at most, 300 after a shed.
        #expect(peak == 400 && sheds == 1 + (19_900 - 400) / 100, "peak \(peak), \(sheds) sheds")
        #expect(retired + h.router.hostCount == 20_000 && h.router.hostsLetGo == retired)
        #expect(h.router.devices.first?.name == "aa:aa:aa:aa:aa:aa" && h.router.devices.count == 1 + h.router.hostCount)
        // The ones kept are the most recent.
        #expect(h.router.devices.last?.name == Self.mac(19_999))
    }

    /// A host that keeps sending survives every shed: the ones idle the longest go first.
    @Test func aBusyHostSurvivesTheFlood() throws {
        var h = try Harness(maxHosts: 100)
        _ = h.route(0, from: "aa:aa:aa:aa:aa:aa")
        let busy = h.router.devices.first!
        for i in 0..<5_000 {
            _ = h.route(Double(i) * 0.001, from: Self.mac(i))
            _ = h.route(Double(i) * 0.001, from: "aa:aa:aa:aa:aa:aa")
        }
        #expect(h.router.devices.first === busy && h.router.hostCount <= 100)
        #expect(!h.router.takeRetired().contains { $0 === busy })
    }
}
