import AutoencoderCore
import Testing
@testable import InferenceServer

/// `JSONOutput.floats` writes runs through the AVX-512 kernel (where the CPU has it) and the
/// values the kernel leaves one by one: the array must read the same either way.
@Suite struct JSONOutputTests {
    func floatsText(_ xs: [Float]) -> String {
        let out = JSONOutput(capacity: 64)   // small: the array must grow it as it goes
        xs.withUnsafeBufferPointer { out.floats($0) }
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// Each value as `description` prints it, non-finite ones as `null`.
    func expected(_ xs: [Float]) -> String {
        "[" + xs.map { $0.isFinite ? $0.description : "null" }.joined(separator: ",") + "]"
    }

    @Test func writesEveryValueWhicheverPathTakesIt() {
        #expect(floatsText([]) == "[]")
        #expect(floatsText([1.5]) == "[1.5]")
        var rng = SplitMix64(seed: 9)
        for n in [1, 7, 8, 9, 15, 16, 17, 115, 300] {
            var xs = (0..<n).map { _ in (rng.nextUnitFloat() - 0.5) * 1e4 }
            if n > 3 {   // subnormal, NaN, infinity and zero in the middle of a run
                xs[n / 4] = .leastNonzeroMagnitude * 3; xs[n / 3] = .nan; xs[n / 2] = -.infinity; xs[n - 2] = 0
            }
            #expect(floatsText(xs) == expected(xs), "n = \(n)")
        }
    }
}
