import Testing
@testable import TrafficFeatures

/// Ids nothing holds are released and handed out again, and the features do not change: the same
/// rows, bit for bit, as when every id is kept.
@Suite struct AddressCollectionTests {
    /// The real capture through libpcap, its streams let go after 60 s idle (the capture spans
    /// 1,405 s, so its ids come and go); with `every`, ids are collected every that many packets.
    func rows(_ mode: FeatureExtractor.Mode, every: Int?) throws -> (rows: [UInt64], released: Int) {
        let addresses = AddressTable()
        var reader = CaptureReader(path: fixtures.appendingPathComponent("kitsune_mirai_first_packets.pcap").path, addresses: addresses)
        var x = FeatureExtractor(mode: mode, idleTimeout: 60, addresses: addresses)
        var row = [Double](repeating: 0, count: FeatureNames.count), out: [UInt64] = [], released = 0, n = 0
        out.reserveCapacity(38_363 * FeatureNames.count)
        try reader.forEach { p in
            n += 1
            if let every, n % every == 0 {
                released += addresses.collect { marks in
                    x.markAddresses(&marks)
                    marks.insert(p)
                }
            }
            row.withUnsafeMutableBufferPointer { x.process(p, into: $0.baseAddress!) }
            out += row.map(\.bitPattern)
        }
        return (out, released)
    }

    @Test(arguments: FeatureExtractor.Mode.allCases)
    func releasingIdsChangesNoFeature(mode: FeatureExtractor.Mode) throws {
        let kept = try rows(mode, every: nil)
        let collected = try rows(mode, every: 500)
        #expect(kept.rows.count == 38_363 * FeatureNames.count && collected.released > 1_000, "\(collected.released) released")
        let first = zip(kept.rows, collected.rows).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(first == nil, "row \((first?.offset ?? 0) / FeatureNames.count + 1) differs")
    }

    /// A scan of 6,000 new destinations (each a new IP, MAC and port) within the stream budget:
    /// collected as the table asks, the ids held stay bounded; the rows are those of a table
    /// that keeps every id.
    @Test(arguments: FeatureExtractor.Mode.allCases)
    func aScanHoldsBoundedIds(mode: FeatureExtractor.Mode) {
        func run(collecting: Bool) -> (rows: [UInt64], peak: Int, table: Int) {
            let addresses = AddressTable(collectionFloor: 2_000)
            var x = FeatureExtractor(mode: mode, idleTimeout: 3600, maxStreams: 600, addresses: addresses)
            var row = [Double](repeating: 0, count: FeatureNames.count), out: [UInt64] = [], peak = 0
            for i in 0..<6_000 {
                let dst = "10.\(i / 65536).\(i / 256 % 256).\(i % 256)"
                let p = Packet(time: Double(i) * 0.001, length: 60, srcMAC: addresses.intern("mac-scanner"), dstMAC: addresses.intern("mac-" + dst),
                               srcIP: addresses.intern("192.168.1.21"), dstIP: addresses.intern(dst),
                               srcProto: addresses.intern("4\(i % 1000)"), dstProto: addresses.intern("23"), isARP: false)
                if collecting { x.collectAddresses(keeping: p) }
                row.withUnsafeMutableBufferPointer { x.process(p, into: $0.baseAddress!) }
                out += row.map(\.bitPattern)
                peak = max(peak, addresses.count)
            }
            return (out, peak, addresses.names.count)
        }
        let kept = run(collecting: false), collected = run(collecting: true)
        #expect(kept.peak > 12_000 && collected.peak <= 4_100 && collected.table <= 4_100, "kept \(kept.peak), collected peak \(collected.peak), table \(collected.table)")
        #expect(kept.rows == collected.rows)
    }

    /// A flood of spoofed source MACs through the extractor and the router, ids collected as the
    /// table asks: a listed device's address and the hosts still held keep their ids, so every
    /// packet still goes to its own MAC's device, and no other MAC to the listed one.
    @Test func theRouterKeepsItsIdsThroughCollections() throws {
        final class Device { let name: String; init(_ name: String) { self.name = name } }
        let addresses = AddressTable(collectionFloor: 500)
        let map = try DeviceMap([("aa:aa:aa:aa:aa:aa", "cam")], source: "devices.json", addresses: addresses)
        var router = DeviceRouter(map: map, listed: [Device("cam")], warmUp: 0, idleTimeout: 3600, maxHosts: 100,
                                  newHost: { Device(addresses.name($0)) })
        var x = FeatureExtractor(idleTimeout: 0.05, addresses: addresses)
        var row = [Double](repeating: 0, count: FeatureNames.count), collections = 0, wrong = 0
        for i in 0..<5_000 {
            let mac = i % 50 == 0 ? "aa:aa:aa:aa:aa:aa" : i % 7 == 0 ? "02:00:00:00:00:01" : DeviceRouterTests.mac(i)
            let p = Packet(time: Double(i) * 0.001, length: 60, srcMAC: addresses.intern(mac), dstMAC: addresses.intern("ff:ff:ff:ff:ff:ff"),
                           srcIP: addresses.intern("10.1.\(i / 256 % 256).\(i % 256)"), dstIP: addresses.intern("10.0.0.1"),
                           srcProto: addresses.intern("\(1024 + i % 5000)"), dstProto: addresses.intern("53"), isARP: false)
            let generation = addresses.generation
            x.collectAddresses(keeping: p) { router.markAddresses(&$0) }
            if addresses.generation != generation { collections += 1 }
            row.withUnsafeMutableBufferPointer { x.process(p, into: $0.baseAddress!) }
            let d = router.device(of: p)
            _ = router.takeRetired()
            if d?.name != (mac == "aa:aa:aa:aa:aa:aa" ? "cam" : mac) { wrong += 1 }
        }
        #expect(collections >= 3 && wrong == 0, "\(collections) collections, \(wrong) packets to another device")
        #expect(addresses.count < 1_500, "\(addresses.count) ids held")
    }

    /// A released id is handed out again, and a stale cache of ids is dropped.
    @Test func releasedIdsAreReused() {
        let t = AddressTable(collectionFloor: 1)
        let a = t.intern("a"), b = t.intern("b")
        let generation = t.generation
        #expect(t.collect { $0.insert(b) } == 1 && t.generation != generation)
        #expect(t.count == 2 && t.name(b) == "b" && t.intern("b") == b)
        #expect(t.intern("c") == a && t.name(a) == "c" && t.intern("a") == 3)
    }
}
