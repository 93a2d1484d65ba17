import Foundation
import Testing
@testable import AutoencoderCore

/// The backward pass against central finite differences of the loss, computed in Float64.
@Suite struct GradientCheckTests {
    /// Loss of `net` on `x` (rows × n), entirely in Double.
    static func loss64(_ layers: [(kernel: [Double], bias: [Double], inSize: Int, outSize: Int, act: Activation)], _ x: [Double], rows: Int) -> Double {
        let n = layers[0].inSize
        var total = 0.0
        for r in 0..<rows {
            var a = Array(x[(r * n)..<((r + 1) * n)])
            for l in layers {
                var z = l.bias
                for j in 0..<l.outSize { for i in 0..<l.inSize { z[j] += a[i] * l.kernel[i * l.outSize + j] } }
                switch l.act {
                case .linear: a = z
                case .leakyRelu: a = z.map { $0 >= 0 ? $0 : 0.3 * $0 }
                case .tanh: a = z.map { tanh($0) }
                case .sigmoid: a = z.map { 1 / (1 + exp(-$0)) }
                }
            }
            for j in 0..<n { let d = a[j] - x[r * n + j]; total += d * d }
        }
        return total / Double(rows * n)
    }

    @Test func analyticGradientsMatchFiniteDifferences() {
        let net = Autoencoder(inputSize: 6, hidden: [5, 4], latent: 3, seed: 11)
        let rows = 5
        var rng = SplitMix64(seed: 5)
        let x = (0..<(rows * 6)).map { _ in rng.nextUnitFloat() }
        var ws = Workspace(for: net, capacity: rows)
        var grads = Gradients(for: net)
        x.withUnsafeBufferPointer { xp in
            net.forward(xp.baseAddress!, rows: rows, through: net.layers.count - 1, workspace: &ws)
            _ = net.backward(xp.baseAddress!, rows: rows, workspace: &ws, gradients: &grads)
        }
        var layers64 = net.layers.map { (kernel: $0.kernel.map(Double.init), bias: $0.bias.map(Double.init), inSize: $0.inputSize, outSize: $0.outputSize, act: $0.activation) }
        let x64 = x.map(Double.init)
        let h = 1e-6
        var worst = 0.0
        var checked = 0
        for l in layers64.indices {
            for isBias in [false, true] {
                let count = isBias ? layers64[l].bias.count : layers64[l].kernel.count
                for k in 0..<count {
                    func perturbed(_ delta: Double) -> Double {
                        if isBias { layers64[l].bias[k] += delta } else { layers64[l].kernel[k] += delta }
                        defer { if isBias { layers64[l].bias[k] -= delta } else { layers64[l].kernel[k] -= delta } }
                        return Self.loss64(layers64, x64, rows: rows)
                    }
                    let numeric = (perturbed(h) - perturbed(-h)) / (2 * h)
                    let analytic = Double(isBias ? grads.biases[l][k] : grads.kernels[l][k])
                    let err = abs(numeric - analytic) / max(1e-4, abs(numeric) + abs(analytic))
                    worst = max(worst, err)
                    checked += 1
                }
            }
        }
        #expect(checked == net.parameterCount)
        #expect(worst < 2e-3, "worst relative gradient error \(worst)")
    }

    @Test func backwardReturnsTheBatchLoss() {
        let net = Autoencoder(inputSize: 4, hidden: [3], latent: 2, seed: 2)
        let x: [Float] = [0.1, 0.9, 0.4, 0.5, 0.3, 0.2, 0.8, 0.7]
        var ws = Workspace(for: net, capacity: 2)
        var grads = Gradients(for: net)
        let loss = x.withUnsafeBufferPointer { xp in
            net.forward(xp.baseAddress!, rows: 2, through: net.layers.count - 1, workspace: &ws)
            return net.backward(xp.baseAddress!, rows: 2, workspace: &ws, gradients: &grads)
        }
        let layers64 = net.layers.map { (kernel: $0.kernel.map(Double.init), bias: $0.bias.map(Double.init), inSize: $0.inputSize, outSize: $0.outputSize, act: $0.activation) }
        #expect(abs(Double(loss) - Self.loss64(layers64, x.map(Double.init), rows: 2)) < 1e-6)
    }
}
