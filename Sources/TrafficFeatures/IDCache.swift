/// A small direct-mapped cache of recent key → id answers, in front of a `Dictionary` that stays
/// the truth.
///
/// Why: the extractor maps each packet's MACs, IPv4 addresses and (IP, port) endpoints to ids
/// through `Dictionary`s, six lookups a packet, and their SipHash was about 4% of `ae detect`'s
/// time. A gateway's traffic comes back to the same few hosts, so most lookups hit here for the
/// cost of a multiply and one load. Unlike a faster hash table, this cannot be turned against
/// us: the keys are addresses the sender chooses, and colliding keys only push each other out,
/// so the worst a sender can do is make every lookup miss and fall through to the `Dictionary`
/// (whose SipHash is seeded per process). The slot comes from a random odd multiplier drawn
/// per cache, so which keys collide cannot be known in advance either. Its memory is fixed:
/// `count` entries of 16 bytes.
///
/// A reference type so that it can own its buffer; one extraction pipeline owns it (not
/// thread-safe), and whoever may hand an id out again calls `removeAll` first.
final class IDCache {
    private struct Entry {
        var key: UInt64
        var id: Int32   // −1: empty
    }

    private let entries: UnsafeMutablePointer<Entry>
    private let multiplier: UInt64
    private let shift: UInt64
    /// Slots; a power of two.
    let count: Int

    init(bits: Int = 12) {
        precondition((1...24).contains(bits))
        count = 1 << bits
        shift = UInt64(64 - bits)
        var random = SystemRandomNumberGenerator()
        multiplier = random.next() | 1
        entries = .allocate(capacity: count)
        entries.initialize(repeating: Entry(key: 0, id: -1), count: count)
    }

    deinit { entries.deallocate() }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* multiplier) >> shift) }

    /// The id last stored for `key`, if it is still in its slot.
    @inline(__always)
    func find(_ key: UInt64) -> Int32? {
        let e = entries[slot(key)]
        return e.id >= 0 && e.key == key ? e.id : nil
    }

    /// Remembers `id` (≥ 0) for `key`, in place of whatever held its slot.
    @inline(__always)
    func store(_ key: UInt64, _ id: Int32) {
        entries[slot(key)] = Entry(key: key, id: id)
    }

    /// Forgets everything: call it before any id it may hold is released or handed out again.
    func removeAll() {
        entries.update(repeating: Entry(key: 0, id: -1), count: count)
    }
}
