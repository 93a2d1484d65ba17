@testable import AutoencoderCore
import Testing

/// `nk_sigmoid` and `nk_tanh` must give glibc's bits exactly (`Activation.applyScalar`), at every
/// branch boundary of glibc's code, and touch nothing past the count. (`ae-bench activation-check`
/// compares them on all 2³² bit patterns.) Skipped on a CPU without AVX-512 F and DQ or AVX2 and FMA.
@Suite struct ActivationKernelTests {
    /// Each branch boundary of glibc's expf, tanhf and expm1f, from both sides.
    static let edges: [Float] = {
        let points: [Float] = [
            0, .leastNonzeroMagnitude, .leastNormalMagnitude, 0x1p-55, 0x1p-25, 0x1p-24,
            Float(bitPattern: 0x3eb17218) / 2, Float(bitPattern: 0x3eb17218), Float(bitPattern: 0x3F851592),
            Float(bitPattern: 0x3F851592) / 2, 0.25, 0.125, 1, 2, 11, 19.4, 22, Float(bitPattern: 0x4195b844),
            88, 0x1.62e42ep6, 0x1.9fe368p6, 100, 1e30, .greatestFiniteMagnitude, .infinity,
        ]
        return points.flatMap { p in [p, p.nextUp, p.nextDown].flatMap { [$0, -$0] } } + [.nan, -.nan, .signalingNaN]
    }()

    /// `apply` and `applyScalar` on the same values; also that `apply` wrote nothing past `count`.
    func compare(_ activation: Activation, _ xs: [Float]) -> [String] {
        let guardValue = Float(bitPattern: 0x7FC0_1234)
        var fast = xs + [Float](repeating: guardValue, count: 16)
        var slow = xs
        fast.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: xs.count) }
        slow.withUnsafeMutableBufferPointer { activation.applyScalar($0.baseAddress!, count: xs.count) }
        var problems: [String] = []
        for i in xs.indices where fast[i].bitPattern != slow[i].bitPattern {
            problems.append("\(activation)(\(xs[i]) [0x\(String(xs[i].bitPattern, radix: 16))]): kernel \(fast[i]), glibc \(slow[i])")
        }
        if fast[xs.count...].contains(where: { $0.bitPattern != guardValue.bitPattern }) { problems.append("wrote past count \(xs.count)") }
        return problems
    }

    @Test(.enabled(if: Activation.hasKernel, "no AVX-512 or AVX2 here"), arguments: [Activation.sigmoid, .tanh])
    func matchesGlibcAtEveryBranchBoundary(_ activation: Activation) {
        #expect(compare(activation, Self.edges) == [])
    }

    /// Random bit patterns and typical pre-activations, in every length 1…40 (each lane position
    /// and the masked tail).
    @Test(.enabled(if: Activation.hasKernel, "no AVX-512 or AVX2 here"), arguments: [Activation.sigmoid, .tanh])
    func matchesGlibcOnRandomValuesOfEveryLength(_ activation: Activation) {
        var rng = SplitMix64(seed: 23)
        var problems: [String] = []
        for round in 0..<2_000 {
            let n = round % 40 + 1
            let xs = (0..<n).map { i -> Float in
                i % 2 == 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) : (rng.nextUnitFloat() - 0.5) * 60
            }
            problems += compare(activation, xs)
        }
        #expect(problems.prefix(10) == [])
    }

}
