#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// AfterImage's `incStatDB`: damped incremental statistics of many streams, each over the five
/// decay factors ("lanes"), plus the covariance trackers that link pairs of streams.
///
/// Kitsune-py keeps one `incStat` object per (stream, λ); every operation on a stream runs over
/// all five λ in turn and the lanes never interact, so a record with five lanes is the same
/// computation, laid out flat for speed. Kitsune's semantics are kept to the bit, including
/// the lazily cached mean/variance/std (a stream decayed as the *partner* of an update keeps
/// its cached, pre-decay values until its own next insert).
struct StreamTable {
    static let lanes = 5
    let lambdas: [Double]
    /// Kitsune computes decay with `math.pow(2, x)`; `exp2` is the same function, faster, but
    /// not always the same last bit. `kitsune` mode uses `pow`.
    let exactPow: Bool
    /// Kitsune's `isTypeDiff`: the inserted value is the time since the stream's last update.
    let isTypeDiff: Bool
    /// 2, loaded from memory: with a literal 2 LLVM rewrites `pow(2, x)` into `exp2(x)`, which
    /// is not always the same last bit as glibc's `pow` that Python's `math.pow` calls.
    private let powBase: Double

    private var index: [UInt64: Int32] = [:]
    private(set) var keys: [UInt64] = []
    // Per stream × lane.
    var w: [Double] = [], cf1: [Double] = [], cf2: [Double] = [], last: [Double] = []
    var curMean: [Double] = [], curVar: [Double] = [], curStd: [Double] = []
    // Per stream.
    var covs: [[Int32]] = []
    var touched: [Double] = []
    var alive: [Bool] = []
    private var freeStreams: [Int32] = []
    // Covariance trackers, per tracker × lane (resA/resB: Kitsune's lastRes[0]/[1]).
    var covA: [Int32] = [], covB: [Int32] = []
    var cf3: [Double] = [], w3: [Double] = [], last3: [Double] = [], resA: [Double] = [], resB: [Double] = []
    private var freeCovs: [Int32] = []

    init(lambdas: [Double], exactPow: Bool, isTypeDiff: Bool = false) {
        precondition(lambdas.count == Self.lanes)
        self.lambdas = lambdas
        self.exactPow = exactPow
        self.isTypeDiff = isTypeDiff
        self.powBase = exactPow ? Double(lambdas.count - 3) : 2   // = 2, opaque to constant folding
    }

    var liveStreams: Int { keys.count - freeStreams.count }
    var liveCovs: Int { covA.count - freeCovs.count }

    /// x², as Kitsune squares: `math.pow(x, 2)` and `x**2` call glibc's `pow`, which is not
    /// always the correctly rounded `x * x` in the last bit.
    @inline(__always)
    func square(_ x: Double) -> Double { exactPow ? pow(x, powBase) : x * x }

    @inline(__always)
    func decayFactor(_ lane: Int, _ dt: Double) -> Double {
        exactPow ? pow(powBase, -lambdas[lane] * dt) : exp2(-lambdas[lane] * dt)
    }

    /// `incStatDB.register`: the stream for `key`, created with `lastTimestamp = initTime` if new.
    @inline(__always)
    mutating func register(_ key: UInt64, initTime: Double) -> Int32 {
        if let s = index[key] { return s }
        let s: Int32
        if let f = freeStreams.popLast() {
            s = f
            keys[Int(s)] = key
            covs[Int(s)].removeAll(keepingCapacity: true)
            touched[Int(s)] = initTime
            alive[Int(s)] = true
            let b = Int(s) * Self.lanes
            for l in 0..<Self.lanes { setFresh(b + l, initTime) }
        } else {
            s = Int32(keys.count)
            keys.append(key); covs.append([]); touched.append(initTime); alive.append(true)
            for _ in 0..<Self.lanes {
                w.append(1e-20); cf1.append(0); cf2.append(0); last.append(initTime)   // incStat.__init__
                curMean.append(.nan); curVar.append(.nan); curStd.append(.nan)
            }
        }
        index[key] = s
        return s
    }

    @inline(__always)
    private mutating func setFresh(_ i: Int, _ t: Double) {
        w[i] = 1e-20; cf1[i] = 0; cf2[i] = 0; last[i] = t
        curMean[i] = .nan; curVar[i] = .nan; curStd[i] = .nan
    }

    /// `incStat.processDecay`.
    @inline(__always)
    mutating func processDecay(_ i: Int, _ lane: Int, _ t: Double) {
        let dt = t - last[i]
        if dt > 0 {
            let f = decayFactor(lane, dt)
            cf1[i] *= f; cf2[i] *= f; w[i] *= f
            last[i] = t
        }
    }

    @inline(__always) mutating func mean(_ i: Int) -> Double {
        if curMean[i].isNaN { curMean[i] = cf1[i] / w[i] }
        return curMean[i]
    }

    @inline(__always) mutating func variance(_ i: Int) -> Double {
        if curVar[i].isNaN { let m = mean(i); curVar[i] = abs(cf2[i] / w[i] - square(m)) }
        return curVar[i]
    }

    @inline(__always) mutating func std(_ i: Int) -> Double {
        if curStd[i].isNaN { curStd[i] = variance(i).squareRoot() }
        return curStd[i]
    }

    /// `incStat.insert` on one lane, including its covariance trackers.
    @inline(__always)
    mutating func insert(_ s: Int32, _ lane: Int, _ value: Double, _ t: Double, skipping skipped: Int32 = -1) {
        let i = Int(s) * Self.lanes + lane
        var v = value
        if isTypeDiff {
            let dif = t - last[i]
            v = dif > 0 ? dif : 0
        }
        processDecay(i, lane, t)
        cf1[i] += v
        cf2[i] += square(v)
        w[i] += 1
        curMean[i] = .nan; curVar[i] = .nan; curStd[i] = .nan
        let list = covs[Int(s)]
        for c in list where c != skipped { updateCov(c, s, lane, v, t) }
    }

    /// `incStat.allstats_1D`: (weight, mean, variance), refreshing the cached mean and variance.
    @inline(__always)
    mutating func allStats1D(_ s: Int32, _ lane: Int) -> (Double, Double, Double) {
        let i = Int(s) * Self.lanes + lane
        let m = cf1[i] / w[i]
        curMean[i] = m
        curVar[i] = abs(cf2[i] / w[i] - square(m))
        return (w[i], m, curVar[i])
    }

    /// `incStatDB.register_cov`: the tracker linking the two streams, created if new.
    mutating func registerCov(_ s1: Int32, _ s2: Int32, initTime: Double) -> (tracker: Int32, created: Bool) {
        for c in covs[Int(s1)] where covA[Int(c)] == s2 || covB[Int(c)] == s2 { return (c, false) }
        let c: Int32
        if let f = freeCovs.popLast() {
            c = f
            covA[Int(c)] = s1; covB[Int(c)] = s2
            let b = Int(c) * Self.lanes
            for l in 0..<Self.lanes { cf3[b + l] = 0; w3[b + l] = 1e-20; last3[b + l] = initTime; resA[b + l] = 0; resB[b + l] = 0 }
        } else {
            c = Int32(covA.count)
            covA.append(s1); covB.append(s2)
            for _ in 0..<Self.lanes { cf3.append(0); w3.append(1e-20); last3.append(initTime); resA.append(0); resB.append(0) }
        }
        covs[Int(s1)].append(c)
        covs[Int(s2)].append(c)
        return (c, true)
    }

    /// `incStat_cov.update_cov`, for the stream `s` that produced (v, t).
    @inline(__always)
    mutating func updateCov(_ c: Int32, _ s: Int32, _ lane: Int, _ v: Double, _ t: Double) {
        let ci = Int(c) * Self.lanes + lane
        let incIsA = covA[Int(c)] == s
        let other = incIsA ? covB[Int(c)] : covA[Int(c)]
        processDecay(Int(other) * Self.lanes + lane, lane, t)          // decay the other stream
        let dt = t - last3[ci]                                          // decay the residuals
        if dt > 0 {
            let f = decayFactor(lane, dt)
            cf3[ci] *= f; w3[ci] *= f; last3[ci] = t
            if incIsA { resA[ci] *= f } else { resB[ci] *= f }
        }
        let res = v - mean(Int(s) * Self.lanes + lane)
        cf3[ci] += res * (incIsA ? resB[ci] : resA[ci])
        w3[ci] += 1
        if incIsA { resA[ci] = res } else { resB[ci] = res }
    }

    /// `incStat_cov.get_stats2`: (radius, magnitude, covariance, pcc).
    @inline(__always)
    mutating func stats2D(_ c: Int32, _ lane: Int) -> (radius: Double, magnitude: Double, cov: Double, pcc: Double) {
        let a = Int(covA[Int(c)]) * Self.lanes + lane, b = Int(covB[Int(c)]) * Self.lanes + lane
        let va = variance(a), vb = variance(b)
        let radius = (square(va) + square(vb)).squareRoot()
        let ma = mean(a), mb = mean(b)
        let magnitude = (square(ma) + square(mb)).squareRoot()
        let ci = Int(c) * Self.lanes + lane
        let cov = cf3[ci] / w3[ci]
        let ss = std(a) * std(b)
        return (radius, magnitude, cov, ss != 0 ? cov / ss : 0)
    }

    /// Drops every stream not touched since `cutoff`, and the trackers that involve it.
    /// Returns how many streams went.
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
            index[keys[s]] = nil
            alive[s] = false
            freeStreams.append(Int32(s))
            removed += 1
        }
        return removed
    }

    @inline(__always) mutating func touch(_ s: Int32, _ t: Double) { touched[Int(s)] = t }
}
