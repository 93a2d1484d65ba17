import Glibc
import LayerKernels

/// A Dense layer's activation, named as Keras names them.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case linear
    /// Keras `LeakyReLU()` layer: `negative_slope=0.3` by default (Keras 3; `alpha=0.3` in Keras 2).
    case leakyRelu = "leaky_relu"
    case tanh
    case sigmoid

    /// Keras's `LeakyReLU` default negative slope.
    public static let leakySlope: Float = 0.3

    /// Whether `apply` runs sigmoid and tanh sixteen or eight at a time (`nk_sigmoid`, `nk_tanh`:
    /// AVX-512, or AVX2 with FMA), bit for bit as `applyScalar` does with glibc 2.36's `expf` and
    /// `tanhf`.
    public static let hasKernel = nk_activation_available() != 0

    /// Applies the activation in place: the kernels where this CPU has them, else `applyScalar`.
    @inline(__always)
    public func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .tanh where Activation.hasKernel: nk_tanh(p, count)
        case .sigmoid where Activation.hasKernel: nk_sigmoid(p, count)
        default: applyScalar(p, count: count)
        }
    }

    /// Applies the activation in place, one value at a time: the specification of the kernels.
    @inline(__always)
    public func applyScalar(_ p: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear: break
        case .leakyRelu:
            for i in 0..<count { let z = p[i]; p[i] = z >= 0 ? z : z * Activation.leakySlope }
        case .tanh:
            for i in 0..<count { p[i] = Glibc.tanhf(p[i]) }
        case .sigmoid:
            for i in 0..<count { p[i] = 1 / (1 + Glibc.expf(-p[i])) }
        }
    }

    /// Turns dL/da into dL/dz in place, from the activation's output a (so z is never stored).
    @inline(__always)
    func backward(output a: UnsafePointer<Float>, grad g: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .linear: break
        case .leakyRelu:
            // a > 0 exactly when z > 0, since the slope is positive.
            for i in 0..<count where a[i] < 0 { g[i] *= Activation.leakySlope }
        case .tanh:
            for i in 0..<count { g[i] *= 1 - a[i] * a[i] }
        case .sigmoid:
            for i in 0..<count { g[i] *= a[i] * (1 - a[i]) }
        }
    }
}
