import FeatureKernels
import Glibc
import Testing
@testable import TrafficFeatures

/// `fk_exp2_scaled5` must give glibc's `exp2(a[i] * s)` bit for bit (the decay factors of every
/// feature come from it), on both sides of each branch of glibc's code, in every lane, and write
/// nothing past the fifth. Skipped where the kernel is not used (no AVX2, or
/// AE_NUMBER_KERNELS=off: then glibc's `exp2` itself runs).
@Suite struct Exp2KernelTests {
    /// (a, s) through the kernel and through glibc; the lanes that differ, described.
    func compare(_ a: [Double], _ s: Double) -> [String] {
        precondition(a.count == 5)
        let guardValue = Double(bitPattern: 0x7FF8_0000_0000_1234)
        var y = [Double](repeating: guardValue, count: 8)
        a.withUnsafeBufferPointer { a in y.withUnsafeMutableBufferPointer { fk_exp2_scaled5(a.baseAddress!, s, $0.baseAddress!) } }
        var problems: [String] = []
        for i in 0..<5 where y[i].bitPattern != exp2(a[i] * s).bitPattern {
            let x = a[i] * s
            problems.append("lane \(i): exp2(\(x) [0x\(String(x.bitPattern, radix: 16))]) = kernel \(y[i]), glibc \(exp2(x))")
        }
        if y[5...].contains(where: { $0.bitPattern != guardValue.bitPattern }) { problems.append("wrote past lane 4") }
        return problems
    }

    /// glibc's branch points (|x| = 2⁻⁵⁴ and 512: its main path; 928, 1024, −1075: its special
    /// cases), zeros, subnormal results, infinities and NaN, from both sides, in every lane.
    @Test(.enabled(if: fk_available() != 0, "the kernel is not used here"))
    func matchesGlibcAtEveryBranchBoundary() {
        let points: [Double] = [
            0, .leastNonzeroMagnitude, .leastNormalMagnitude, 0x1p-54, 0x1p-53, 0x1p-30, 0x1p-8, 0.5, 1, 100,
            511, 512, 513, 928, 1000, 1022, 1023, 1024, 1025, 1074, 1075, 1076, 1e6, .greatestFiniteMagnitude, .infinity,
        ]
        let xs = points.flatMap { p in [p, p.nextUp, p.nextDown].flatMap { [$0, -$0] } } + [.nan, -.nan, .signalingNaN]
        var problems: [String] = []
        for (n, x) in xs.enumerated() {
            for lane in 0..<5 {   // x in one lane, ordinary values in the others
                var a = [-5.0, -3, -1, -0.1, -0.01]
                a[lane] = x
                problems += compare(a, 1)
                a[(lane + 1) % 5] = xs[(n * 7 + 3) % xs.count]
                problems += compare(a, 1)
            }
        }
        #expect(problems == [])
    }

    /// The kernel remembers its last call per thread (most calls repeat it): a call that differs
    /// from the last in `s` or in any value of `a`, even through the same buffer, must be computed
    /// afresh. Runs where the kernel is not used too: the memo sits in front of glibc's `exp2` there.
    @Test func repeatedCallsAreServedOnlyForTheSameArguments() {
        var a = [-5.0, -3, -1, -0.1, -0.01]
        var problems: [String] = []
        for s in [0.25, 0.25, 0.5, 0.25] {
            problems += compare(a, s)
            for lane in 0..<5 {
                a[lane] *= 2   // the same buffer, one value changed
                problems += compare(a, s)
                problems += compare(a, s)
                a[lane] /= 2
                problems += compare(a, s)
            }
        }
        #expect(problems == [])
    }

    /// The extractor's own inputs, −λ · Δt for Δt from a microsecond to a day, and random bit
    /// patterns.
    @Test(.enabled(if: fk_available() != 0, "the kernel is not used here"))
    func matchesGlibcOnRandomValues() {
        var rng = SplitMix64Lite(seed: 29)
        var problems: [String] = []
        let lambdas = [-5.0, -3, -1, -0.1, -0.01]
        for round in 0..<100_000 where problems.count < 20 {
            if round % 2 == 0 {
                problems += compare(lambdas, exp(log(1e-6) + (log(86_400) - log(1e-6)) * rng.nextDouble()))
            } else {
                let a = (0..<5).map { _ in Double(bitPattern: rng.next()) }
                problems += compare(a, round % 4 == 1 ? 1 : 4 * rng.nextDouble() - 2)
            }
        }
        #expect(problems == [])
    }
}
