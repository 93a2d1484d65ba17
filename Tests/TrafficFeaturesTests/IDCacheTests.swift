import Testing
@testable import TrafficFeatures

/// `IDCache` in front of a `Dictionary`, as the extractor and `Frame.Keys` use it: it never
/// answers a wrong id, it answers repeated keys, and it forgets on `removeAll`. And the one
/// place it could leak state, a copied `FeatureExtractor` (a value type holding a cache).
@Suite struct IDCacheTests {
    @Test func neverAnswersAWrongIDAndKeepsRecentKeys() {
        var rng = SplitMix64Lite(seed: 37)
        let cache = IDCache(bits: 6)   // 64 slots for 5,000 keys: collisions all the time
        var truth: [UInt64: Int32] = [:]
        var wrong = 0, hits = 0
        for step in 0..<100_000 {
            let k = rng.next() % 5_000 &* 0x1_0000_0001   // spread over both halves of the key
            if let id = cache.find(k) {
                hits += 1
                if truth[k] != id { wrong += 1 }
                continue
            }
            let id = truth[k] ?? Int32(truth.count)
            truth[k] = id
            cache.store(k, id)
            #expect(cache.find(k) == id, "step \(step): a stored key is found until another takes its slot")
        }
        #expect(wrong == 0)
        #expect(hits > 0 && hits < 100_000)
        for k in truth.keys { if let id = cache.find(k) { #expect(truth[k] == id) } }
        cache.removeAll()
        #expect(truth.keys.allSatisfy { cache.find($0) == nil })
        #expect(cache.find(0) == nil, "an empty slot's key (0) is not an answer")
    }

    /// Two copies of one extractor, each then fed its own sockets from the same 5,000 source
    /// endpoints (more than the cache holds, so keys fall out of it and are looked up again),
    /// twice over, give exactly what an extractor fed the same packets from the start gives.
    /// (Sharing one cache, the second copy took the first one's endpoint ids and merged sockets.)
    @Test func copiesOfAnExtractorKeepTheirOwnEndpoints() {
        let addresses = AddressTable()
        var clock = 0.0
        func packets(_ sockets: [Int], to dst: String, port: String, rounds: Int) -> [Packet] {
            (0..<rounds).flatMap { _ in
                sockets.map { s in
                    clock += 0.001
                    return Packet(time: clock, length: Double(60 + s % 900),
                                  srcMAC: addresses.intern("mac-\(s % 7)"), dstMAC: addresses.intern("mac-gw"),
                                  srcIP: addresses.intern("10.0.\(s % 7).1"), dstIP: addresses.intern(dst),
                                  srcProto: addresses.intern(String(1024 + s)), dstProto: addresses.intern(port), isARP: false)
                }
            }
        }
        let shared = packets(Array(0..<2_000), to: "10.1.0.1", port: "80", rounds: 1)
        let start = clock
        let left = packets(Array((2_000..<7_000).reversed()), to: "10.2.0.1", port: "80", rounds: 2)
        clock = start
        let right = packets(Array(2_000..<7_000), to: "10.3.0.1", port: "443", rounds: 2)
        func run(_ x: inout FeatureExtractor, _ ps: [Packet]) -> [UInt64] {
            var row = [Double](repeating: 0, count: FeatureNames.count), out: [UInt64] = []
            for p in ps {
                row.withUnsafeMutableBufferPointer { x.process(p, into: $0.baseAddress!) }
                out.append(row.reduce(0) { $0 &* 31 &+ $1.bitPattern })
            }
            return out
        }
        var a = FeatureExtractor(idleTimeout: 0, addresses: addresses)
        _ = run(&a, shared)
        var b = a
        let fromA = run(&a, left), fromB = run(&b, right)
        var freshA = FeatureExtractor(idleTimeout: 0, addresses: addresses), freshB = FeatureExtractor(idleTimeout: 0, addresses: addresses)
        _ = run(&freshA, shared)
        _ = run(&freshB, shared)
        let expectedA = run(&freshA, left), expectedB = run(&freshB, right)
        #expect(fromA == expectedA)
        #expect(zip(fromB, expectedB).filter { $0 != $1 }.count == 0 && fromB.count == expectedB.count)
    }
}
