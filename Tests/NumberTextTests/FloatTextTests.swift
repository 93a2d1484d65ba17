import AutoencoderCore
import NumberText
import Testing

/// `FloatText` must print exactly what `Float.description` prints: the shortest digits that read
/// back as the same Float, closest to it, in the same layout. (`ae-bench float-text --stride 1`
/// checks all 2³² bit patterns; here a spread of them and the edge cases.)
@Suite struct FloatTextTests {
    func text(_ x: Float) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: FloatText.bufferLength) { buffer in
            let n = FloatText.write(x, to: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
    }

    @Test func edgeCases() {
        let cases: [Float] = [
            0, -0.0, 1, -1, 0.1, 0.0001, 0.001, 1e-5, 9.999999e-5, 16_777_216, 16_777_218, 33_554_432, 1e7, 1e8, 1e9,
            1.6969414e9, 123_456.7, 0.5, 100, 1e16, .leastNonzeroMagnitude, .leastNormalMagnitude,
            Float.leastNormalMagnitude.nextDown, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 3.4e38, 2e-7,
            Float(bitPattern: 1), Float(bitPattern: 7), Float(bitPattern: 8), Float(bitPattern: 0x15), Float(bitPattern: 0x1D),
            Float(bitPattern: 0x47), Float(bitPattern: 0x0080_0000), 8_388_608, 0.3,
        ]
        for x in cases { #expect(text(x) == x.description, "\(x.bitPattern)") }
        #expect(text(.infinity) == "inf" && text(-.infinity) == "-inf" && text(.nan) == "nan")
    }

    /// Every 65,521st bit pattern (65,551 values over all exponents and both signs).
    @Test func matchesDescriptionAcrossAllExponents() {
        var bits: UInt64 = 0
        var mismatches: [UInt32] = []
        while bits <= UInt64(UInt32.max) {
            let x = Float(bitPattern: UInt32(bits))
            if x.isFinite, text(x) != x.description { mismatches.append(UInt32(bits)) }
            bits += 65_521
        }
        #expect(mismatches.isEmpty, "first mismatching bit patterns: \(mismatches.prefix(5))")
    }

    /// Every subnormal up to 2⁻¹³⁶ (the tiniest can print with one digit: 3e-44).
    @Test func matchesDescriptionOnSmallSubnormals() {
        for bits in UInt32(1)..<0x2000 {
            let x = Float(bitPattern: bits)
            #expect(text(x) == x.description, "\(bits)")
        }
    }

    /// Every power of two and its neighbours: the asymmetric rounding intervals.
    @Test func matchesDescriptionAtPowersOfTwo() {
        for e in -149...127 {
            let x = Float(sign: .plus, exponent: e, significand: 1)
            for y in [x, x.nextUp, x.nextDown] where y.isFinite && y > 0 {
                #expect(text(y) == y.description, "\(y.bitPattern)")
            }
        }
    }

    @Test func readsBackAsTheSameFloat() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<50_000 {
            let x = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            guard x.isFinite else { continue }
            #expect(Float(text(x)) == x)
        }
    }
}
