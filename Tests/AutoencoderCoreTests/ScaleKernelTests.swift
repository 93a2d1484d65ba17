@testable import AutoencoderCore
import LayerKernels
import Testing

/// `nk_scale` is the scaling of every row the network sees (`MinMaxScaler.transform`,
/// `FrozenModel.scale`). Whatever width the CPU runs it at, each value must be sklearn's
/// float64 `x * scale + min`, unfused, then rounded to Float, and nothing past the rows written.
@Suite struct ScaleKernelTests {
    /// The specification, one value at a time.
    static func reference(_ x: Double, _ s: Double, _ m: Double) -> Float {
        var v = x * s   // two statements: no fused multiply-add
        v += m
        return Float(v)
    }

    @Test(arguments: [1, 3, 7, 8, 9, 16, 17, 115])
    func everyValueEqualsTheSpecification(_ columns: Int) {
        var rng = SplitMix64(seed: UInt64(columns))
        // Magnitudes from denormal Float results to past Float's range, and the values that
        // are not numbers: every rounding case of the conversion.
        let special: [Double] = [0, -0.0, 1, .infinity, -.infinity, .nan, 1e300, -1e300, 1e-40, 3.4028235677973366e38,
                                 Double(Float.greatestFiniteMagnitude), 1 + 0x1p-24, 1 + 0x1.8p-24]
        func value() -> Double {
            let u = rng.next()
            if u % 5 == 0 { return special[Int(u >> 8) % special.count] }
            return (Double(u >> 11) * 0x1p-53 * 2 - 1) * Double(sign: .plus, exponent: Int(u % 61) - 30, significand: 1)
        }
        let s = (0..<columns).map { _ in value() }, m = (0..<columns).map { _ in value() }
        for rows in [1, 5, 300] {
            let x = (0..<(rows * columns)).map { _ in value() }
            var out = [Float](repeating: 7, count: rows * columns + 9)
            nk_scale(x, s, m, &out, rows * columns, columns)
            #expect(out[(rows * columns)...].allSatisfy { $0 == 7 }, "wrote past the rows")
            var differ = 0
            for i in 0..<(rows * columns) where out[i].bitPattern != Self.reference(x[i], s[i % columns], m[i % columns]).bitPattern {
                differ += 1
            }
            #expect(differ == 0, "\(rows) rows of \(columns)")
        }
    }
}
