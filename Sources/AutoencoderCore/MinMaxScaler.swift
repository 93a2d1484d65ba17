import LayerKernels
/// scikit-learn's `MinMaxScaler(feature_range=(0, 1))`, in float64 as scikit-learn computes it.
///
/// `transform(x) = x * scale + min`, with `scale = 1 / (data_max - data_min)` and
/// `min = -data_min * scale`. A constant column, or one whose range is below 10 ε (2.2e-15: rounding
/// noise, such as a covariance of streams that never cross), has its range replaced by 1, as
/// scikit-learn's `_handle_zeros_in_scale` does since 1.0, so it maps to `x - data_min` (about 0 on
/// the training data). Dividing by the noise instead would scale later values by 1e15 or more.
/// Later data is not clipped (`clip=False` is the default): values outside the training range
/// land outside [0, 1], which is exactly what makes attacks stand out.
public struct MinMaxScaler: Sendable, Equatable {
    /// scikit-learn's `scale_`.
    public var scale: [Double]
    /// scikit-learn's `min_`.
    public var min: [Double]

    public init(scale: [Double], min: [Double]) {
        precondition(scale.count == min.count)
        self.scale = scale
        self.min = min
    }

    public var featureCount: Int { scale.count }

    /// Fits on `rows × n` row-major values.
    public init(fitting values: [Double], columns n: Int) {
        precondition(n > 0 && values.count % n == 0 && !values.isEmpty, "fit needs at least one row")
        var lo = [Double](repeating: .infinity, count: n)
        var hi = [Double](repeating: -.infinity, count: n)
        values.withUnsafeBufferPointer { v in
            var i = 0
            while i < v.count {
                for j in 0..<n {
                    let x = v[i + j]
                    if x < lo[j] { lo[j] = x }
                    if x > hi[j] { hi[j] = x }
                }
                i += n
            }
        }
        var scale = [Double](repeating: 1, count: n)
        var min = [Double](repeating: 0, count: n)
        for j in 0..<n {
            var range = hi[j] - lo[j]
            if range < 10 * Double.ulpOfOne { range = 1 }   // sklearn _handle_zeros_in_scale: scale < 10 * finfo(float64).eps
            scale[j] = 1.0 / range        // feature_range=(0, 1): (max - min) / data_range
            min[j] = 0.0 - lo[j] * scale[j]
        }
        self.init(scale: scale, min: min)
    }

    /// Scales row-major raw values into `out` as Float (the cast Keras applies to float64 input).
    public func transform(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutableBufferPointer<Float>) {
        let n = scale.count
        precondition(values.count == out.count && values.count % n == 0)
        scale.withUnsafeBufferPointer { s in
            min.withUnsafeBufferPointer { m in Self.transform(values, columns: n, scale: s.baseAddress!, min: m.baseAddress!, into: out.baseAddress!) }
        }
    }

    /// `transform` on plain memory (`scale` and `min`: one value per column), shared with
    /// `FrozenModel`; `nk_scale` runs it vectorised as wide as the CPU allows, to the same bits.
    @inline(__always)
    static func transform(_ values: UnsafeBufferPointer<Double>, columns n: Int, scale s: UnsafePointer<Double>,
                          min m: UnsafePointer<Double>, into out: UnsafeMutablePointer<Float>) {
        guard n > 0, let x = values.baseAddress else { return }
        nk_scale(x, s, m, out, values.count, n)
    }

    public func transform(_ values: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { transform(v, into: $0) } }
        return out
    }

    /// The inverse, back to the client's units (sklearn's `inverse_transform`, in float64).
    public func inverse(_ scaled: Float, column j: Int) -> Double {
        (Double(scaled) - min[j]) / scale[j]
    }

    /// `inverse` over rows, on plain memory, as Float: what `FrozenModel.unscale` runs.
    @inline(__always)
    static func inverse(_ scaled: UnsafeBufferPointer<Float>, columns n: Int, scale s: UnsafePointer<Double>,
                        min m: UnsafePointer<Double>, into out: UnsafeMutablePointer<Float>) {
        var row = scaled.baseAddress, o = out   // as in `transform`
        for _ in 0..<(scaled.count / n) {
            let y = row!
            for j in 0..<n {
                var x = Double(y[j])
                x -= m[j]      // sklearn: X -= self.min_
                x /= s[j]      //          X /= self.scale_
                o[j] = Float(x)
            }
            row = y + n; o += n
        }
    }
}
