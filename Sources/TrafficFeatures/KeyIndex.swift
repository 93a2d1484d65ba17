/// An open-addressing hash map from 64-bit keys to 32-bit slots, for the extractor's stream
/// lookups (several per packet): a multiplicative hash and linear probing beat `Dictionary`'s
/// SipHash by a wide margin here, and the keys are not attacker-chosen hash-flooding input
/// (they are interned ids). Deletion uses backward-shift, so no tombstones accumulate.
///
/// The slot is the top bits of the key times 2⁶⁴/φ (Fibonacci hashing): every bit of the key
/// reaches them. (Middle bits of the product, as before, took most of their value from the
/// key's low half alone, and the streams of one destination crowded into runs of ~8 probes.)
struct KeyIndex {
    /// One slot: 16 bytes, so a probe run reads one or two cache lines, and a lookup one array.
    private struct Entry {
        var key: UInt64 = 0
        var value: Int32 = 0
        var used = false
    }

    private var entries: [Entry]
    private var mask: Int
    /// 64 − log₂(capacity): the product's bits kept by `slot`.
    private var shift: UInt64
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        entries = [Entry](repeating: Entry(), count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
    }

    /// Where `k`'s probe run starts, for a table of 2^(64 − shift) slots.
    @inline(__always) private static func slot(_ k: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    func find(_ k: UInt64) -> Int32? {
        entries.withUnsafeBufferPointer { e in
            var i = Self.slot(k, shift)
            while e[i].used {
                if e[i].key == k { return e[i].value }
                i = (i + 1) & mask
            }
            return nil
        }
    }

    mutating func insert(_ k: UInt64, _ v: Int32) {
        if (count + 1) * 2 > entries.count { grow() }
        let (mask, home) = (self.mask, Self.slot(k, shift))
        let added = entries.withUnsafeMutableBufferPointer { e in
            var i = home
            while e[i].used {
                if e[i].key == k { e[i].value = v; return false }
                i = (i + 1) & mask
            }
            e[i] = Entry(key: k, value: v, used: true)
            return true
        }
        if added { count += 1 }
    }

    mutating func remove(_ k: UInt64) {
        let (mask, shift) = (self.mask, self.shift)
        let removed = entries.withUnsafeMutableBufferPointer { e in
            var i = Self.slot(k, shift)
            while e[i].used {
                if e[i].key == k { break }
                i = (i + 1) & mask
            }
            guard e[i].used else { return false }
            e[i].used = false
            // Backward shift: move later entries of the probe run into the hole.
            var hole = i
            var j = (i + 1) & mask
            while e[j].used {
                let home = Self.slot(e[j].key, shift)
                let distHole = (hole - home) & mask, distJ = (j - home) & mask
                if distHole <= distJ {
                    e[hole] = e[j]
                    e[j].used = false
                    hole = j
                }
                j = (j + 1) & mask
            }
            return true
        }
        if removed { count -= 1 }
    }

    private mutating func grow() {
        let old = entries
        let c = entries.count * 2
        entries = [Entry](repeating: Entry(), count: c)
        mask = c - 1
        shift = UInt64(64 - c.trailingZeroBitCount)
        count = 0
        for e in old where e.used { insert(e.key, e.value) }
    }
}
