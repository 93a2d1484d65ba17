/// The N-BaIoT / Kitsune "AfterImage" feature extractor: 115 damped-window statistics per packet,
/// in the column order of the N-BaIoT files (`FeatureNames.all`).
///
/// Two modes, because Kitsune-py and the published N-BaIoT data disagree (README: "Feature
/// compatibility modes"):
/// - `.nbaiot` (default) reproduces what the real N-BaIoT rows show: the std column holds a
///   standard deviation, HH and HpHp are directed streams per channel and per socket (each
///   linked to its reverse), a channel's first jitter value is the epoch time itself, H is
///   the source host's traffic, and a tracker decays both residuals (pcc stays in the published range).
/// - `.kitsune` reproduces Kitsune-py (ymirsky/Kitsune-py) to the last bit: HH is keyed by the
///   source IP alone and linked to every destination host, its "std" column holds the variance,
///   keys are Kitsune's concatenated strings, and the HH tracker is updated twice per packet as
///   Kitsune's `update_get_1D2D_Stats` does. H (absent from Kitsune) is the HH source stream.
public struct FeatureExtractor {
    public enum Mode: String, Sendable, CaseIterable {
        case nbaiot
        case kitsune
    }

    public let mode: Mode
    /// Streams idle (not part of any packet) for longer than this many seconds are dropped;
    /// 0 keeps everything, as Kitsune does. The default, one hour, is where even the slowest
    /// window (λ = 0.01, half-life 100 s) has decayed to 2⁻³⁶ of its weight.
    public let idleTimeout: Double
    /// The most streams held at once (all five groups together). Past it, the streams idle the
    /// longest are dropped until three quarters remain: a scan of new addresses opens streams
    /// for every destination faster than `idleTimeout` lets them go (about 400 B each), and a
    /// gateway must not run out of memory while it is attacked. Ordinary networks stay far
    /// below it (the real Mirai capture holds about 21,500).
    public let maxStreams: Int
    /// `maxStreams` unless told otherwise: about 200 MB of streams.
    public static let defaultMaxStreams = 500_000
    /// The smallest budget: a packet can open seven streams, and shedding keeps three quarters.
    public static let minimumMaxStreams = 16
    /// How many times the budget made streams go early.
    public private(set) var budgetEvictions = 0
    public let addresses: AddressTable

    private var mi: StreamTable, host: StreamTable, hh: StreamTable, jit: StreamTable, hp: StreamTable
    /// (a, b) → id of a composite key: Kitsune's concatenated string, or a directed pair.
    private var pairs: [UInt64: Int32] = [:]
    private var pairCount: Int32 = 0
    private var nextSweep = -Double.infinity

    public init(mode: Mode = .nbaiot, idleTimeout: Double = 3600, maxStreams: Int = defaultMaxStreams, addresses: AddressTable) {
        precondition(maxStreams >= Self.minimumMaxStreams)
        self.mode = mode
        self.idleTimeout = idleTimeout
        self.maxStreams = maxStreams
        self.addresses = addresses
        let exact = mode == .kitsune
        mi = StreamTable(exactPow: exact)
        host = StreamTable(exactPow: exact)
        hh = StreamTable(exactPow: exact, decayBothResiduals: !exact)
        jit = StreamTable(exactPow: exact, isTypeDiff: true)
        hp = StreamTable(exactPow: exact, decayBothResiduals: !exact)
    }

    /// Streams and covariance trackers currently held (for memory checks).
    public var liveStreams: Int { mi.liveStreams + host.liveStreams + hh.liveStreams + jit.liveStreams + hp.liveStreams }
    public var liveTrackers: Int { hh.liveCovs + hp.liveCovs }

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    /// A composite key id: in `kitsune` mode the interned concatenation of the two strings
    /// (so `192.168.1.10`+`123` and `192.168.1.101`+`23` collide, as in Kitsune); otherwise
    /// the ordered pair itself.
    @inline(__always)
    private mutating func pair(_ a: Int32, _ b: Int32) -> UInt64 {
        if mode == .nbaiot { return Self.key(a, b) }
        let k = Self.key(a, b)
        if let id = pairs[k] { return UInt64(UInt32(bitPattern: id)) }
        let id = addresses.intern(addresses.name(a) + addresses.name(b))
        pairs[k] = id
        return UInt64(UInt32(bitPattern: id))
    }

    /// Updates the statistics with `p` and writes its 115 features into `out`.
    public mutating func process(_ p: Packet, into out: UnsafeMutablePointer<Double>) {
        let t = p.time, v = p.length
        if idleTimeout > 0, t >= nextSweep {
            if nextSweep.isFinite { evict(before: t - idleTimeout) }
            nextSweep = t + idleTimeout / 4
        }
        if liveStreams > maxStreams { shed(at: t) }
        let kitsune = mode == .kitsune
        if !isKnownUniquelyReferenced(&recentEndpoints) { recentEndpoints = IDCache() }

        // MI_dir: source MAC + IP, 1D.
        let miStream = mi.register(pair(p.srcMAC, p.srcIP), initTime: t)
        Self.update1D(&mi, miStream, v, t, out: out)

        // HH (and H, and HH_jit): the channel.
        let hhKey: UInt64, hhPartner: UInt64
        if kitsune {
            hhKey = UInt64(UInt32(bitPattern: p.srcIP)); hhPartner = UInt64(UInt32(bitPattern: p.dstIP))
        } else {
            hhKey = Self.key(p.srcIP, p.dstIP); hhPartner = Self.key(p.dstIP, p.srcIP)
            // H: everything the source host sent.
            let h = host.register(UInt64(UInt32(bitPattern: p.srcIP)), initTime: t)
            Self.update1D(&host, h, v, t, out: out + 15)
        }
        Self.update2D(&hh, hhKey, hhPartner, v, t, kitsune: kitsune, out: out + 30)
        if kitsune {
            for l in 0..<StreamTable.lanes { out[15 + 3 * l] = out[30 + 7 * l]; out[15 + 3 * l + 1] = out[30 + 7 * l + 1]; out[15 + 3 * l + 2] = out[30 + 7 * l + 2] }
        }

        // HH_jit: inter-arrival time on the channel. N-BaIoT's first value is the epoch time
        // (the stream starts its clock at 0); Kitsune starts it at the first packet (value 0).
        let j = jit.register(pair(p.srcIP, p.dstIP), initTime: kitsune ? t : 0)
        Self.update1D(&jit, j, 0, t, out: out + 65)

        // HpHp: the socket (ARP: the MACs).
        let hpKey: UInt64, hpPartner: UInt64
        if p.isARP {
            if kitsune { hpKey = UInt64(UInt32(bitPattern: p.srcMAC)); hpPartner = UInt64(UInt32(bitPattern: p.dstMAC)) }
            else {
                // The MACs as endpoints of their own kind (no port id is −1): keyed by the MACs'
                // address ids directly, an ARP socket shared the stream of any IP socket whose
                // endpoint ids happened to be those numbers (2 of the real capture's sockets).
                let ea = endpoint(Self.key(p.srcMAC, -1)), eb = endpoint(Self.key(p.dstMAC, -1))
                hpKey = Self.key(ea, eb); hpPartner = Self.key(eb, ea)
            }
        } else {
            let a = pair(p.srcIP, p.srcProto), b = pair(p.dstIP, p.dstProto)
            if kitsune { hpKey = a; hpPartner = b } else {
                // Endpoint ids are 32-bit in nbaiot mode's pair space; fold the socket into one key.
                let ea = endpoint(a), eb = endpoint(b)
                hpKey = Self.key(ea, eb); hpPartner = Self.key(eb, ea)
            }
        }
        Self.update2D(&hp, hpKey, hpPartner, v, t, kitsune: kitsune, out: out + 80)
    }

    /// nbaiot mode: an endpoint (IP, port) pair as a 32-bit id.
    private var endpoints: [UInt64: Int32] = [:]
    /// The last endpoints' ids, in front of `endpoints`. A reference in a value type: a copy of
    /// the extractor takes a cache of its own before its first packet (`process`).
    private var recentEndpoints = IDCache()
    private var endpointIDs: Int32 = 0
    private var freeEndpoints: [Int32] = []
    @inline(__always)
    private mutating func endpoint(_ k: UInt64) -> Int32 {
        if let e = recentEndpoints.find(k) { return e }
        let e: Int32
        if let known = endpoints[k] { e = known } else {
            if let f = freeEndpoints.popLast() { e = f } else { e = endpointIDs; endpointIDs += 1 }
            endpoints[k] = e
        }
        recentEndpoints.store(k, e)
        return e
    }

    /// When the address table asks for it (`wantsCollection`), releases the ids that neither the
    /// streams, `p` (about to be processed), nor what `mark` marks hold. Call it before each
    /// packet: a scan brings new addresses without end, and this keeps the table to those in use.
    @inline(__always)
    public mutating func collectAddresses(keeping p: Packet, _ mark: (inout AddressTable.Marks) -> Void = { _ in }) {
        guard addresses.wantsCollection else { return }
        addresses.collect { marks in
            markAddresses(&marks)
            marks.insert(p)
            mark(&marks)
        }
    }

    /// Marks every address id the streams hold, for `AddressTable.collect`, and lets go of what
    /// maps ids no stream holds any more (the endpoints; in `kitsune` mode, the cache of
    /// concatenated keys): those ids may be handed out again.
    public mutating func markAddresses(_ marks: inout AddressTable.Marks) {
        // A key is two ids (`key`), or one in its low half (the other half is 0, the empty string).
        mi.forEachKey { marks.insert(pair: $0) }
        host.forEachKey { marks.insert(pair: $0) }
        hh.forEachKey { marks.insert(pair: $0) }
        jit.forEachKey { marks.insert(pair: $0) }
        if mode == .kitsune {
            hp.forEachKey { marks.insert(pair: $0) }
            pairs.removeAll(keepingCapacity: true)
            return
        }
        // nbaiot: a socket's key is two endpoint ids; an endpoint is an (address, port) pair of
        // ids, or a MAC's id beside −1.
        var held = [Bool](repeating: false, count: Int(endpointIDs))
        hp.forEachKey { k in
            held[Int(UInt32(truncatingIfNeeded: k >> 32))] = true
            held[Int(UInt32(truncatingIfNeeded: k))] = true
        }
        recentEndpoints.removeAll()   // ids of endpoints let go are handed out again
        endpoints = endpoints.filter { held[Int($0.value)] }
        freeEndpoints = (0..<endpointIDs).filter { !held[Int($0)] }.reversed()
        for k in endpoints.keys {
            marks.insert(Int32(bitPattern: UInt32(truncatingIfNeeded: k >> 32)))
            let port = Int32(bitPattern: UInt32(truncatingIfNeeded: k))
            if port >= 0 { marks.insert(port) }
        }
    }

    /// A 1D group (MI, H, HH_jit): weight, mean, variance per λ.
    @inline(__always)
    private static func update1D(_ table: inout StreamTable, _ s: Int32, _ v: Double, _ t: Double, out: UnsafeMutablePointer<Double>) {
        table.touch(s, t)
        table.withSlabs(stream: s) { ops, S, C, list in
            ops.insert(S, C, s, list, v, t)
            ops.allStats1D(S, s, std: false, into: out, stride: 3)
        }
    }

    /// A 1D2D group (HH or HpHp): the stream's 1D stats, then magnitude, radius, covariance, pcc
    /// with its partner; seven columns per λ.
    @inline(__always)
    private static func update2D(_ table: inout StreamTable, _ key: UInt64, _ partner: UInt64, _ v: Double, _ t: Double,
                                 kitsune: Bool, out: UnsafeMutablePointer<Double>) {
        let s = table.register(key, initTime: t)
        table.touch(s, t)
        let other = table.register(partner, initTime: t)
        table.touch(other, t)
        let (c, created) = table.registerCov(s, other, initTime: t)
        table.withSlabs(stream: s) { ops, S, C, list in
            if kitsune {
                // Kitsune: insert (updating every tracker the stream already had), then register the
                // pair's tracker and update it once more — so an existing pair is updated twice. Its
                // "std" column holds the variance.
                ops.insert(S, C, s, list, v, t, skipping: created ? c : -1)
                ops.allStats1D(S, s, std: false, into: out, stride: 7)
                ops.updateCov(S, C!, c, s, v, t)
            } else {
                ops.insert(S, C, s, list, v, t)
                ops.allStats1D(S, s, std: true, into: out, stride: 7)
            }
            ops.stats2D(S, C!, c, into: out + 3, stride: 7)
        }
    }

    /// Over the budget: drops the streams idle the longest (a cutoff that halves its distance to
    /// `t`) until at most three quarters of `maxStreams` remain.
    private mutating func shed(at t: Double) {
        let target = maxStreams / 4 * 3
        var window = idleTimeout > 0 ? idleTimeout : 3600
        repeat {
            window /= 2
            evict(before: t - window)
        } while liveStreams > target && window > 1e-3
        // More than that within the last millisecond (a burst, or a capture whose times stand
        // still): start afresh rather than shed again at every packet.
        if liveStreams > target { evict(before: .infinity) }
        budgetEvictions += 1
    }

    /// Drops streams idle since `cutoff` (called automatically as packet time advances).
    public mutating func evict(before cutoff: Double) {
        mi.evict(before: cutoff); host.evict(before: cutoff); hh.evict(before: cutoff)
        jit.evict(before: cutoff); hp.evict(before: cutoff)
        if mode == .kitsune { pairs.removeAll(keepingCapacity: true) }
    }
}
