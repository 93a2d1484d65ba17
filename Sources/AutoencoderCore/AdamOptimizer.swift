import Glibc

/// Keras's Adam (`optimizer="adam"`), step for step as `keras.optimizers.Adam.update_step` does it:
///
///     alpha = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
///     m += (g − m) · (1 − β₁)
///     v += (g² − v) · (1 − β₂)
///     w −= m · alpha / (√v + ε)
///
/// ε is added to √v before bias correction ("epsilon hat" in the Adam paper), as Keras does,
/// and everything is float32, as Keras computes it for float32 variables. No AMSGrad, no decay.
public struct AdamOptimizer: Sendable {
    /// Keras default `learning_rate=0.001`.
    public var learningRate: Float = 0.001
    /// Keras default `beta_1=0.9`.
    public var beta1: Float = 0.9
    /// Keras default `beta_2=0.999`.
    public var beta2: Float = 0.999
    /// Keras default `epsilon=1e-07`.
    public var epsilon: Float = 1e-7
    /// Steps taken so far (Keras's `iterations`).
    public private(set) var iterations: Int = 0

    var mKernels: [[Float]], vKernels: [[Float]], mBiases: [[Float]], vBiases: [[Float]]

    public init(for network: Autoencoder, learningRate: Float = 0.001) {
        self.learningRate = learningRate
        let zeros = Gradients(for: network)
        mKernels = zeros.kernels; vKernels = zeros.kernels
        mBiases = zeros.biases; vBiases = zeros.biases
    }

    /// Applies one step of `gradients` to `network`.
    public mutating func step(_ network: inout Autoencoder, _ gradients: Gradients) {
        iterations += 1
        let t = Float(iterations)
        let alpha = learningRate * (1 - powf(beta2, t)).squareRoot() / (1 - powf(beta1, t))
        for l in network.layers.indices {
            Self.update(&network.layers[l].kernel, gradients.kernels[l], &mKernels[l], &vKernels[l], alpha, beta1, beta2, epsilon)
            Self.update(&network.layers[l].bias, gradients.biases[l], &mBiases[l], &vBiases[l], alpha, beta1, beta2, epsilon)
        }
    }

    /// The update, eight lanes at a time. Each lane computes exactly the scalar expression
    /// (IEEE `+ − × ÷ √` are correctly rounded per lane), so SIMD and scalar results are identical.
    @inline(__always)
    static func update(_ w: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float],
                       _ alpha: Float, _ b1: Float, _ b2: Float, _ eps: Float) {
        let c1 = 1 - b1, c2 = 1 - b2
        let count = w.count
        w.withUnsafeMutableBufferPointer { w in
            g.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { m in
                    v.withUnsafeMutableBufferPointer { v in
                        let wp = UnsafeMutableRawPointer(w.baseAddress!), gp = UnsafeRawPointer(g.baseAddress!)
                        let mp = UnsafeMutableRawPointer(m.baseAddress!), vp = UnsafeMutableRawPointer(v.baseAddress!)
                        let c1v = SIMD8<Float>(repeating: c1), c2v = SIMD8<Float>(repeating: c2)
                        let av = SIMD8<Float>(repeating: alpha), ev = SIMD8<Float>(repeating: eps)
                        var i = 0
                        while i + 8 <= count {
                            let o = i * 4
                            let gi = gp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                            var mi = mp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                            var vi = vp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
                            mi += (gi - mi) * c1v
                            vi += (gi * gi - vi) * c2v
                            let wi = wp.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) - mi * av / (vi.squareRoot() + ev)
                            mp.storeBytes(of: mi, toByteOffset: o, as: SIMD8<Float>.self)
                            vp.storeBytes(of: vi, toByteOffset: o, as: SIMD8<Float>.self)
                            wp.storeBytes(of: wi, toByteOffset: o, as: SIMD8<Float>.self)
                            i += 8
                        }
                        while i < count {
                            let gi = g[i]
                            m[i] += (gi - m[i]) * c1
                            v[i] += (gi * gi - v[i]) * c2
                            w[i] -= m[i] * alpha / (v[i].squareRoot() + eps)
                            i += 1
                        }
                    }
                }
            }
        }
    }
}
