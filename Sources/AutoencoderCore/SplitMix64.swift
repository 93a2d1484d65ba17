/// Steele, Lea and Flood's SplitMix64: tiny, fast, and the same sequence on every platform,
/// which `SystemRandomNumberGenerator` is not. Training is reproducible because of it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits, every value exactly representable.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform integer in 0..<bound (Lemire's method, unbiased).
    public mutating func nextIndex(below bound: Int) -> Int { Int.random(in: 0..<bound, using: &self) }
}
