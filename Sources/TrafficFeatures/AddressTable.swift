/// Interns the address and port strings of packets into small integers, so the extractor
/// hashes integers, not strings. Shared by the packet reader, the simulator and the
/// extractor (which needs the strings back only in `kitsune` mode, to build Kitsune's
/// concatenated keys). Not thread-safe: one extraction pipeline owns one table.
///
/// A gateway sees new addresses for as long as it runs (a scan brings one a packet), so ids
/// that nothing holds any more are released (`collect`) and handed out again; an id that is
/// still held keeps its number. Whoever holds ids marks them when asked; whoever caches them
/// (`Frame.Keys`) drops its cache when `generation` changes.
///
/// Its state is `@exclusivity(unchecked)`: `wantsCollection` is asked before every packet, and
/// the run-time check of each access to a class's property was three calls into the Swift
/// runtime per packet. No method holds an access across a call that reaches the same property.
public final class AddressTable {
    @exclusivity(unchecked) private var ids: [String: Int32] = [:]
    @exclusivity(unchecked) public private(set) var names: [String] = []
    @exclusivity(unchecked) private var released: [Int32] = []
    @exclusivity(unchecked) private var isReleased: [Bool] = []
    /// Changes whenever ids are released: a cache of ids made before is stale.
    @exclusivity(unchecked) public private(set) var generation = 0
    /// `collect` pays off once at least this many ids are held, and twice as many as after the last one.
    @exclusivity(unchecked) public var collectionFloor: Int
    @exclusivity(unchecked) private var heldAfterCollection = 0

    /// The id of the empty string, always 0.
    public static let empty: Int32 = 0

    public init(collectionFloor: Int = 1 << 20) {
        self.collectionFloor = collectionFloor
        _ = intern("")
    }

    public func intern(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id: Int32
        if let r = released.popLast() {
            id = r
            names[Int(r)] = s
            isReleased[Int(r)] = false
        } else {
            id = Int32(names.count)
            names.append(s)
            isReleased.append(false)
        }
        ids[s] = id
        return id
    }

    public func name(_ id: Int32) -> String { names[Int(id)] }
    /// Ids held (interned and not released).
    public var count: Int { names.count - released.count }

    /// Whether enough ids have been interned since the last `collect` for another to pay off.
    public var wantsCollection: Bool { count >= collectionFloor && count >= 2 * heldAfterCollection }

    /// The ids in use, as the holders mark them for `collect`.
    public struct Marks {
        fileprivate var used: [Bool]
        public mutating func insert(_ id: Int32) { used[Int(id)] = true }
        /// Both ids of a key made of two (`FeatureExtractor.key`).
        public mutating func insert(pair k: UInt64) {
            used[Int(UInt32(truncatingIfNeeded: k >> 32))] = true
            used[Int(UInt32(truncatingIfNeeded: k))] = true
        }
        /// Every id of a packet.
        public mutating func insert(_ p: Packet) {
            for id in [p.srcMAC, p.dstMAC, p.srcIP, p.dstIP, p.srcProto, p.dstProto] { used[Int(id)] = true }
        }
    }

    /// Releases every id that `mark` does not mark (the empty string's stays); returns how many.
    /// The released ids are handed out again by `intern`, so every holder must mark all it holds.
    @discardableResult
    public func collect(marking mark: (inout Marks) -> Void) -> Int {
        var marks = Marks(used: [Bool](repeating: false, count: names.count))
        marks.used[0] = true
        mark(&marks)
        var n = 0
        for i in 1..<names.count where !marks.used[i] && !isReleased[i] {
            ids[names[i]] = nil
            names[i] = ""
            isReleased[i] = true
            released.append(Int32(i))
            n += 1
        }
        heldAfterCollection = count
        generation += 1
        return n
    }
}
