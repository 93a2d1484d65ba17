import Foundation
import Testing
@testable import AutoencoderCore

@Suite struct ForwardPassTests {
    /// 2 → 1 (tanh) → 2 (sigmoid), with a leaky layer in front, weights chosen by hand.
    static func tinyNetwork() -> Autoencoder {
        let l0 = DenseLayer(inputSize: 2, outputSize: 2, activation: .leakyRelu, kernel: [1, -2, 0.5, 1], bias: [0, -1])
        let l1 = DenseLayer(inputSize: 2, outputSize: 1, activation: .tanh, kernel: [0.5, -0.25], bias: [0.1])
        let l2 = DenseLayer(inputSize: 1, outputSize: 2, activation: .sigmoid, kernel: [2, -1], bias: [0, 0.5])
        return Autoencoder(layers: [l0, l1, l2], latentLayer: 1)
    }

    @Test func matchesHandComputedValues() {
        let net = Self.tinyNetwork()
        let x: [Float] = [1, 2]
        // Layer 0: z = [1·1 + 2·0.5 + 0, 1·(−2) + 2·1 − 1] = [2, −1]; LeakyReLU(0.3) → [2, −0.3]
        // Layer 1: z = 2·0.5 + (−0.3)(−0.25) + 0.1 = 1.175; tanh → 0.825655...
        let h = tanh(1.175)
        // Layer 2: sigmoid([2h, −h + 0.5])
        let expected = [1 / (1 + exp(-2 * h)), 1 / (1 + exp(-(-h + 0.5)))]
        var ws = Workspace(for: net, capacity: 4)
        var latent = [Float](repeating: 0, count: 1)
        var recon = [Float](repeating: 0, count: 2)
        var err = [Float](repeating: 0, count: 1)
        x.withUnsafeBufferPointer { xp in
            latent.withUnsafeMutableBufferPointer { net.encode(xp, into: $0, workspace: &ws) }
            recon.withUnsafeMutableBufferPointer { r in
                err.withUnsafeMutableBufferPointer { net.reconstruct(xp, reconstruction: r, errors: $0, workspace: &ws) }
            }
        }
        #expect(abs(Double(latent[0]) - h) < 1e-6)
        #expect(abs(Double(recon[0]) - expected[0]) < 1e-6)
        #expect(abs(Double(recon[1]) - expected[1]) < 1e-6)
        let mse = (pow(expected[0] - 1, 2) + pow(expected[1] - 2, 2)) / 2
        #expect(abs(Double(err[0]) - mse) < 1e-5)
    }

    @Test func batchedForwardEqualsRowByRow() {
        let net = Autoencoder(inputSize: 7, hidden: [5, 4], latent: 3, seed: 3)
        var rng = SplitMix64(seed: 9)
        let rows = 37
        let x = (0..<(rows * 7)).map { _ in rng.nextUnitFloat() }
        var wsBig = Workspace(for: net, capacity: 16)   // forces chunking: 16 + 16 + 5
        var wsOne = Workspace(for: net, capacity: 1)    // the gemv path
        var a = [Float](repeating: 0, count: rows), b = a
        x.withUnsafeBufferPointer { xp in
            a.withUnsafeMutableBufferPointer { net.reconstruct(xp, reconstruction: nil, errors: $0, workspace: &wsBig) }
            b.withUnsafeMutableBufferPointer { net.reconstruct(xp, reconstruction: nil, errors: $0, workspace: &wsOne) }
        }
        for i in 0..<rows { #expect(abs(a[i] - b[i]) <= 1e-6 * max(1, abs(a[i]))) }
    }

    @Test func seedArchitectureShapes() {
        let net = Autoencoder(inputSize: 115, seed: 1)
        #expect(net.layers.map(\.outputSize) == [64, 32, 16, 32, 64, 115])
        #expect(net.layers.map(\.activation) == [.leakyRelu, .leakyRelu, .tanh, .leakyRelu, .leakyRelu, .sigmoid])
        #expect(net.latentSize == 16)
        #expect(net.parameterCount == 20163)
        // Glorot uniform bounds and zero biases (Keras defaults).
        for l in net.layers {
            let limit = (6.0 / Float(l.inputSize + l.outputSize)).squareRoot()
            #expect(l.kernel.allSatisfy { abs($0) <= limit })
            #expect(l.bias.allSatisfy { $0 == 0 })
        }
    }

    /// The eight partial sums and the tail (lengths 1…40, so every tail length and none): the mean
    /// of the squared differences, against a float64 sum in order.
    @Test func meanSquaredErrorOfEveryLength() {
        var rng = SplitMix64(seed: 3)
        for n in 1...40 {
            let a = (0..<n).map { _ in rng.nextUnitFloat() }, b = (0..<n).map { _ in rng.nextUnitFloat() * 2 }
            let exact = zip(a, b).reduce(0.0) { $0 + Double($1.1 - $1.0) * Double($1.1 - $1.0) } / Double(n)
            let ours = Autoencoder.meanSquaredError(a, b, n)
            #expect(abs(Double(ours) - exact) <= 1e-6 * exact, "n = \(n): \(ours) vs \(exact)")
        }
    }
}
