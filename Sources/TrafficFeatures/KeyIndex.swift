/// An open-addressing hash map from 64-bit keys to 32-bit slots, for the extractor's stream
/// lookups (several per packet): a multiplicative hash and linear probing beat `Dictionary`'s
/// SipHash by a wide margin here, and the keys are not attacker-chosen hash-flooding input
/// (they are interned ids). Deletion uses backward-shift, so no tombstones accumulate.
///
/// The slot is the top bits of the key times 2⁶⁴/φ (Fibonacci hashing): every bit of the key
/// reaches them. (Middle bits of the product, as before, took most of their value from the
/// key's low half alone, and the streams of one destination crowded into runs of ~8 probes.)
struct KeyIndex {
    private var keys: [UInt64]
    private var values: [Int32]
    private var used: [Bool]
    private var mask: Int
    /// 64 − log₂(capacity): the product's bits kept by `slot`.
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = [UInt64](repeating: 0, count: c)
        values = [Int32](repeating: 0, count: c)
        used = [Bool](repeating: false, count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
    }

    @inline(__always) private func slot(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    @inline(__always)
    func find(_ k: UInt64) -> Int32? {
        var i = slot(k)
        return used.withUnsafeBufferPointer { u in
            keys.withUnsafeBufferPointer { ks in
                while u[i] {
                    if ks[i] == k { return values[i] }
                    i = (i + 1) & mask
                }
                return nil
            }
        }
    }

    mutating func insert(_ k: UInt64, _ v: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = slot(k)
        while used[i] {
            if keys[i] == k { values[i] = v; return }
            i = (i + 1) & mask
        }
        used[i] = true; keys[i] = k; values[i] = v
        count += 1
    }

    mutating func remove(_ k: UInt64) {
        var i = slot(k)
        while used[i] {
            if keys[i] == k { break }
            i = (i + 1) & mask
        }
        guard used[i] else { return }
        used[i] = false
        count -= 1
        // Backward shift: move later entries of the probe run into the hole.
        var hole = i
        var j = (i + 1) & mask
        while used[j] {
            let home = slot(keys[j])
            let distHole = (hole - home) & mask, distJ = (j - home) & mask
            if distHole <= distJ {
                keys[hole] = keys[j]; values[hole] = values[j]; used[hole] = true
                used[j] = false
                hole = j
            }
            j = (j + 1) & mask
        }
    }

    private mutating func grow() {
        let old = (keys, values, used)
        let c = keys.count * 2
        keys = [UInt64](repeating: 0, count: c)
        values = [Int32](repeating: 0, count: c)
        used = [Bool](repeating: false, count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
        count = 0
        for i in old.0.indices where old.2[i] { insert(old.0[i], old.1[i]) }
    }
}
