import Testing
@testable import TrafficFeatures

/// `KeyIndex` against `Dictionary` under random inserts, overwrites, removals and lookups: keys
/// from a small space (long probe runs that wrap around the table, backward-shift removals in
/// the middle of runs) and pair keys like the extractor's (two ids, one shared), through growth.
@Suite struct KeyIndexTests {
    @Test(arguments: ["small", "pairs"])
    func agreesWithADictionary(_ keys: String) {
        var rng = SplitMix64Lite(seed: 31)
        var index = KeyIndex(capacity: 8)
        var model: [UInt64: Int32] = [:]
        var problems: [String] = []
        func key() -> UInt64 {
            let r = rng.next()
            return keys == "small" ? r % 3_000 : (r % 64) << 32 | (r >> 32) % 200
        }
        for step in 0..<200_000 where problems.count < 10 {
            let k = key(), op = rng.next() % 10
            if op < 5 {
                let v = Int32(truncatingIfNeeded: rng.next())
                index.insert(k, v); model[k] = v
            } else if op < 8 {
                index.remove(k); model[k] = nil
            } else if index.find(k) != model[k] {
                problems.append("step \(step): find(\(k)) = \(String(describing: index.find(k))), expected \(String(describing: model[k]))")
            }
            if index.count != model.count { problems.append("step \(step): count \(index.count), expected \(model.count)") }
        }
        for (k, v) in model where index.find(k) != v { problems.append("at the end: find(\(k)) != \(v)") }
        #expect(problems == [])
    }
}
