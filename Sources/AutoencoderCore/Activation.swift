#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Dense layer's activation, named as Keras names them.
public enum Activation: String, Sendable, Codable, CaseIterable {
    case linear
    /// Keras `LeakyReLU()` layer: `negative_slope=0.3` by default (Keras 3; `alpha=0.3` in Keras 2).
    case leakyRelu = "leaky_relu"
    case tanh
    case sigmoid

    /// Keras's `LeakyReLU` default negative slope.
    public static let leakySlope: Float = 0.3

    /// Applies the activation in place.
    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
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
