import FeatureKernels
import Glibc

/// AfterImage's `incStatDB`: damped incremental statistics of many streams, each over the five
/// decay factors ("lanes"), plus the covariance trackers that link pairs of streams.
///
/// Kitsune-py keeps one `incStat` object per (stream, λ); every operation on a stream runs over
/// all five λ in turn and the lanes never interact, so a record with five lanes is the same
/// computation, laid out flat for speed: one slab of doubles per table, touched through one
/// pointer per operation. Kitsune's semantics are kept to the bit, including the lazily
/// cached mean/variance/std (a stream decayed as the *partner* of an update keeps its cached,
/// pre-decay values until its own next insert).
struct StreamTable {
    static let lanes = 5
    /// Per stream: w, cf1, cf2, last, mean, var, std — five lanes each.
    static let streamStride = 35
    /// Per tracker: cf3, w3, last3, resA, resB — five lanes each.
    static let covStride = 25
    // Field offsets (× lanes) within a stream record and a tracker record.
    static let W = 0, CF1 = 5, CF2 = 10, LAST = 15, MEAN = 20, VAR = 25, STD = 30
    static let CF3 = 0, W3 = 5, LAST3 = 10, RESA = 15, RESB = 20

    /// −λ of each lane (`FeatureNames.lambdas`): the decay factor is 2^(−λ·Δt), computed as
    /// `(−λ) · Δt` as Kitsune does. One buffer for every table, made once and never freed: an
    /// array here was retained and released at every update (a borrowed array's buffer is).
    nonisolated(unsafe) private static let negatedLambdas: UnsafePointer<Double> = {   // written once, then only read
        let p = UnsafeMutablePointer<Double>.allocate(capacity: lanes)
        for l in 0..<lanes { p[l] = -FeatureNames.lambdas[l] }
        return UnsafePointer(p)
    }()
    /// Kitsune computes decay with `math.pow(2, x)` and squares with `math.pow(x, 2)`, which are
    /// not always the last bit of `exp2` and `x * x`. `kitsune` mode uses `pow`.
    let exactPow: Bool
    /// Kitsune's `isTypeDiff`: the inserted value is the time since the stream's last update.
    let isTypeDiff: Bool
    /// Kitsune decays only the updating side's last residual (`lastRes[inc] *= f`), so after an
    /// idle gap a stale residual meets variances restarting near zero and pcc reaches 10⁵; the
    /// published N-BaIoT pcc stays within [−1.7, 2.8]. `nbaiot` mode decays both residuals.
    let decayBothResiduals: Bool
    /// 2, loaded from memory: with a literal 2 LLVM rewrites `pow(2, x)` into `exp2(x)` and
    /// `pow(x, 2)` into `x * x`.
    private let powBase: Double

    private var index = KeyIndex()
    private(set) var keys: [UInt64] = []
    var slab: [Double] = []
    var covs: [[Int32]] = []
    var touched: [Double] = []
    var alive: [Bool] = []
    private var freeStreams: [Int32] = []
    var covA: [Int32] = [], covB: [Int32] = []
    var covSlab: [Double] = []
    private var freeCovs: [Int32] = []

    init(exactPow: Bool, isTypeDiff: Bool = false, decayBothResiduals: Bool = false) {
        precondition(FeatureNames.lambdas.count == Self.lanes)
        self.exactPow = exactPow
        self.isTypeDiff = isTypeDiff
        self.decayBothResiduals = decayBothResiduals
        self.powBase = exactPow ? Double(FeatureNames.lambdas.count - 3) : 2   // = 2, opaque to constant folding
    }

    var liveStreams: Int { keys.count - freeStreams.count }
    var liveCovs: Int { covA.count - freeCovs.count }

    // MARK: Registration

    /// `incStatDB.register`: the stream for `key`, created with `lastTimestamp = initTime` if new.
    @inline(__always)
    mutating func register(_ key: UInt64, initTime: Double) -> Int32 {
        if let s = index.find(key) { return s }
        let s: Int32
        if let f = freeStreams.popLast() {
            s = f
            keys[Int(s)] = key
            covs[Int(s)].removeAll(keepingCapacity: true)
            touched[Int(s)] = initTime
            alive[Int(s)] = true
        } else {
            s = Int32(keys.count)
            keys.append(key); covs.append([]); touched.append(initTime); alive.append(true)
            slab.append(contentsOf: repeatElement(0, count: Self.streamStride))
        }
        slab.withUnsafeMutableBufferPointer { p in
            let r = p.baseAddress! + Int(s) * Self.streamStride
            for l in 0..<Self.lanes {   // incStat.__init__
                r[Self.W + l] = 1e-20; r[Self.CF1 + l] = 0; r[Self.CF2 + l] = 0; r[Self.LAST + l] = initTime
                r[Self.MEAN + l] = .nan; r[Self.VAR + l] = .nan; r[Self.STD + l] = .nan
            }
        }
        index.insert(key, s)
        return s
    }

    /// `incStatDB.register_cov`: the tracker linking the two streams, created if new.
    mutating func registerCov(_ s1: Int32, _ s2: Int32, initTime: Double) -> (tracker: Int32, created: Bool) {
        for c in covs[Int(s1)] where covA[Int(c)] == s2 || covB[Int(c)] == s2 { return (c, false) }
        let c: Int32
        if let f = freeCovs.popLast() {
            c = f
            covA[Int(c)] = s1; covB[Int(c)] = s2
        } else {
            c = Int32(covA.count)
            covA.append(s1); covB.append(s2)
            covSlab.append(contentsOf: repeatElement(0, count: Self.covStride))
        }
        covSlab.withUnsafeMutableBufferPointer { p in
            let r = p.baseAddress! + Int(c) * Self.covStride
            for l in 0..<Self.lanes { r[Self.CF3 + l] = 0; r[Self.W3 + l] = 1e-20; r[Self.LAST3 + l] = initTime; r[Self.RESA + l] = 0; r[Self.RESB + l] = 0 }
        }
        covs[Int(s1)].append(c)
        covs[Int(s2)].append(c)
        return (c, true)
    }

    @inline(__always) mutating func touch(_ s: Int32, _ t: Double) { touched[Int(s)] = t }

    // MARK: Statistics

    /// Runs `body` with the arithmetic (`StreamOps`), pointers to the stream and tracker slabs
    /// (nil when the table has no trackers) and stream `s`'s trackers: one exclusive access per
    /// operation instead of a uniqueness check per element. Every array is borrowed mutably: a
    /// shared borrow of a stored array retains and releases its buffer (about ten atomic pairs a
    /// packet); a mutable one only checks that it is unique.
    @inline(__always)
    mutating func withSlabs<R>(stream s: Int32,
                               _ body: (StreamOps, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>?, UnsafeBufferPointer<Int32>) -> R) -> R {
        let (exactPow, isTypeDiff, powBase, both) = (self.exactPow, self.isTypeDiff, self.powBase, self.decayBothResiduals)
        let l = Self.negatedLambdas
        // A table without trackers (MI, H, HH_jit) skips their arrays: a mutable pointer into an
        // empty array is a fresh allocation every time (the empty array's storage is shared).
        if covSlab.isEmpty {
            return slab.withUnsafeMutableBufferPointer { p in
                body(StreamOps(negatedLambdas: l, exactPow: exactPow, isTypeDiff: isTypeDiff, powBase: powBase,
                               covA: nil, covB: nil, decayBothResiduals: both), p.baseAddress!, nil, UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        return covA.withUnsafeMutableBufferPointer { a in
            covB.withUnsafeMutableBufferPointer { b in
                slab.withUnsafeMutableBufferPointer { p in
                    covSlab.withUnsafeMutableBufferPointer { c in
                        covs.withUnsafeMutableBufferPointer { lists in
                            // A stream without trackers has an empty list: no pointer into it (see above).
                            let ops = StreamOps(negatedLambdas: l, exactPow: exactPow, isTypeDiff: isTypeDiff, powBase: powBase,
                                                covA: UnsafePointer(a.baseAddress), covB: UnsafePointer(b.baseAddress), decayBothResiduals: both)
                            if lists[Int(s)].isEmpty { return body(ops, p.baseAddress!, c.baseAddress, UnsafeBufferPointer(start: nil, count: 0)) }
                            return lists[Int(s)].withUnsafeMutableBufferPointer { list in
                                body(ops, p.baseAddress!, c.baseAddress, UnsafeBufferPointer(list))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The key of every stream held.
    func forEachKey(_ body: (UInt64) -> Void) {
        for s in 0..<keys.count where alive[s] { body(keys[s]) }
    }

    // MARK: Eviction

    /// Drops every stream not touched since `cutoff`, and the trackers that involve it.
    @discardableResult
    mutating func evict(before cutoff: Double) -> Int {
        var removed = 0
        for s in 0..<keys.count where alive[s] && touched[s] < cutoff {
            for c in covs[s] where covA[Int(c)] >= 0 {   // a self-linked tracker is listed twice
                let other = covA[Int(c)] == Int32(s) ? covB[Int(c)] : covA[Int(c)]
                if Int(other) != s { covs[Int(other)].removeAll { $0 == c } }
                covA[Int(c)] = -1; covB[Int(c)] = -1
                freeCovs.append(c)
            }
            covs[s].removeAll()
            index.remove(keys[s])
            alive[s] = false
            freeStreams.append(Int32(s))
            removed += 1
        }
        return removed
    }
}

/// The lane arithmetic of `incStat` and `incStat_cov`, over raw slab pointers, each operation
/// over the five lanes at once.
///
/// Kitsune runs every operation on one λ after the other; a lane reads and writes only its own
/// fields, so running each operation over all lanes before the next gives the same bits. The
/// lanes of a record share one clock: each starts at the same time and every decay moves all
/// of them to the same `t`, so one Δt (and one test `Δt > 0`) serves the five, and their decay
/// factors come from one call of `fk_exp2_scaled5`.
struct StreamOps {
    let negatedLambdas: UnsafePointer<Double>
    let exactPow: Bool
    let isTypeDiff: Bool
    let powBase: Double
    let covA: UnsafePointer<Int32>?
    let covB: UnsafePointer<Int32>?
    let decayBothResiduals: Bool

    static let lanes = StreamTable.lanes

    /// x², as Kitsune squares in `kitsune` mode.
    @inline(__always) func square(_ x: Double) -> Double { exactPow ? pow(x, powBase) : x * x }

    /// The five lanes' decay factors 2^(−λ·dt), into `f`.
    @inline(__always) func decayFactors(_ dt: Double, _ f: UnsafeMutablePointer<Double>) {
        if exactPow {
            for l in 0..<Self.lanes { f[l] = pow(powBase, negatedLambdas[l] * dt) }
        } else {
            fk_exp2_scaled5(negatedLambdas, dt, f)
        }
    }

    /// Runs `body` with room for five decay factors on the stack.
    @inline(__always) func withFactors(_ body: (UnsafeMutablePointer<Double>) -> Void) {
        withUnsafeTemporaryAllocation(of: Double.self, capacity: Self.lanes) { body($0.baseAddress!) }
    }

    /// `incStat.processDecay` on every lane of a stream record.
    @inline(__always)
    func processDecay(_ r: UnsafeMutablePointer<Double>, _ t: Double) {
        let dt = t - r[StreamTable.LAST]
        assert((1..<Self.lanes).allSatisfy { r[StreamTable.LAST + $0] == r[StreamTable.LAST] }, "lanes share one clock")
        guard dt > 0 else { return }
        withFactors { f in
            decayFactors(dt, f)
            for l in 0..<Self.lanes {
                r[StreamTable.CF1 + l] *= f[l]; r[StreamTable.CF2 + l] *= f[l]; r[StreamTable.W + l] *= f[l]
                r[StreamTable.LAST + l] = t
            }
        }
    }

    @inline(__always) func mean(_ r: UnsafeMutablePointer<Double>, _ l: Int) -> Double {
        if r[StreamTable.MEAN + l].isNaN { r[StreamTable.MEAN + l] = r[StreamTable.CF1 + l] / r[StreamTable.W + l] }
        return r[StreamTable.MEAN + l]
    }

    @inline(__always) func variance(_ r: UnsafeMutablePointer<Double>, _ l: Int) -> Double {
        if r[StreamTable.VAR + l].isNaN { let m = mean(r, l); r[StreamTable.VAR + l] = abs(r[StreamTable.CF2 + l] / r[StreamTable.W + l] - square(m)) }
        return r[StreamTable.VAR + l]
    }

    @inline(__always) func std(_ r: UnsafeMutablePointer<Double>, _ l: Int) -> Double {
        if r[StreamTable.STD + l].isNaN { r[StreamTable.STD + l] = variance(r, l).squareRoot() }
        return r[StreamTable.STD + l]
    }

    /// `incStat.insert` on every lane, including the stream's trackers (but `skipped`).
    @inline(__always)
    func insert(_ S: UnsafeMutablePointer<Double>, _ C: UnsafeMutablePointer<Double>?, _ s: Int32, _ covList: UnsafeBufferPointer<Int32>,
                _ value: Double, _ t: Double, skipping skipped: Int32 = -1) {
        let r = S + Int(s) * StreamTable.streamStride
        var v = value
        if isTypeDiff {
            let dif = t - r[StreamTable.LAST]
            v = dif > 0 ? dif : 0
        }
        processDecay(r, t)
        let v2 = square(v)
        for l in 0..<Self.lanes {
            r[StreamTable.CF1 + l] += v
            r[StreamTable.CF2 + l] += v2
            r[StreamTable.W + l] += 1
            r[StreamTable.MEAN + l] = .nan; r[StreamTable.VAR + l] = .nan; r[StreamTable.STD + l] = .nan
        }
        for c in covList where c != skipped { updateCov(S, C!, c, s, v, t) }
    }

    /// `incStat.allstats_1D` on every lane: (weight, mean, variance) into `out` at a stride of
    /// `stride` doubles a lane, refreshing the cached mean and variance. `std` writes the
    /// standard deviation (√variance) in place of the variance, and caches it too: it is what
    /// `std(_:_:)` would compute from the variance just cached (an insert, which comes before
    /// every call, has cleared the old one), and `stats2D` asks for it next.
    @inline(__always)
    func allStats1D(_ S: UnsafeMutablePointer<Double>, _ s: Int32, std: Bool, into out: UnsafeMutablePointer<Double>, stride: Int) {
        let r = S + Int(s) * StreamTable.streamStride
        for l in 0..<Self.lanes {
            let m = r[StreamTable.CF1 + l] / r[StreamTable.W + l]
            r[StreamTable.MEAN + l] = m
            let v = abs(r[StreamTable.CF2 + l] / r[StreamTable.W + l] - square(m))
            r[StreamTable.VAR + l] = v
            let o = out + stride * l
            o[0] = r[StreamTable.W + l]; o[1] = m
            if std {
                let d = v.squareRoot()
                r[StreamTable.STD + l] = d
                o[2] = d
            } else {
                o[2] = v
            }
        }
    }

    /// `incStat_cov.update_cov` on every lane, for the stream `s` that produced (v, t).
    @inline(__always)
    func updateCov(_ S: UnsafeMutablePointer<Double>, _ C: UnsafeMutablePointer<Double>, _ c: Int32, _ s: Int32,
                   _ v: Double, _ t: Double) {
        let k = C + Int(c) * StreamTable.covStride
        let incIsA = covA![Int(c)] == s
        let other = incIsA ? covB![Int(c)] : covA![Int(c)]
        processDecay(S + Int(other) * StreamTable.streamStride, t)      // decay the other stream
        let dt = t - k[StreamTable.LAST3]                                // decay the residuals
        if dt > 0 {
            let mine = incIsA ? StreamTable.RESA : StreamTable.RESB
            withFactors { f in
                decayFactors(dt, f)
                for l in 0..<Self.lanes {
                    k[StreamTable.CF3 + l] *= f[l]; k[StreamTable.W3 + l] *= f[l]; k[StreamTable.LAST3 + l] = t
                    if decayBothResiduals {
                        k[StreamTable.RESA + l] *= f[l]; k[StreamTable.RESB + l] *= f[l]
                    } else {
                        k[mine + l] *= f[l]
                    }
                }
            }
        }
        let r = S + Int(s) * StreamTable.streamStride
        let (mine, theirs) = incIsA ? (StreamTable.RESA, StreamTable.RESB) : (StreamTable.RESB, StreamTable.RESA)
        for l in 0..<Self.lanes {
            let res = v - mean(r, l)
            k[StreamTable.CF3 + l] += res * k[theirs + l]
            k[StreamTable.W3 + l] += 1
            k[mine + l] = res
        }
    }

    /// `incStat_cov.get_stats2` on every lane: magnitude, radius, covariance, pcc into `out` at a
    /// stride of `stride` doubles a lane.
    @inline(__always)
    func stats2D(_ S: UnsafeMutablePointer<Double>, _ C: UnsafeMutablePointer<Double>, _ c: Int32,
                 into out: UnsafeMutablePointer<Double>, stride: Int) {
        let a = S + Int(covA![Int(c)]) * StreamTable.streamStride, b = S + Int(covB![Int(c)]) * StreamTable.streamStride
        let k = C + Int(c) * StreamTable.covStride
        for l in 0..<Self.lanes {
            let va = variance(a, l), vb = variance(b, l)
            let radius = (square(va) + square(vb)).squareRoot()
            let ma = mean(a, l), mb = mean(b, l)
            let magnitude = (square(ma) + square(mb)).squareRoot()
            let cov = k[StreamTable.CF3 + l] / k[StreamTable.W3 + l]
            let ss = std(a, l) * std(b, l)
            let o = out + stride * l
            o[0] = magnitude; o[1] = radius; o[2] = cov; o[3] = ss != 0 ? cov / ss : 0
        }
    }
}
