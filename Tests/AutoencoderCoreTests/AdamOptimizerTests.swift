import Testing
@testable import AutoencoderCore

@Suite struct AdamOptimizerTests {
    /// One step from m = v = 0 with Keras's defaults, worked by hand:
    /// m = 0.1 g, v = 0.001 g², alpha = 0.001 · √(1 − 0.999) / (1 − 0.9) = 0.001 · 0.316227766,
    /// Δw = m · alpha / (√v + 1e-7).
    @Test func firstStepMatchesHandComputation() {
        var net = Autoencoder(layers: [DenseLayer(inputSize: 2, outputSize: 2, activation: .linear, kernel: [1, 2, 3, 4], bias: [0.5, -0.5])], latentLayer: 0)
        var adam = AdamOptimizer(for: net)
        var g = Gradients(for: net)
        g.kernels[0] = [0.5, -2, 1e-3, 0]
        g.biases[0] = [4, -1e-6]
        adam.step(&net, g)
        func expected(_ w: Double, _ g: Double) -> Double {
            let m = 0.1 * g, v = 0.001 * g * g
            let alpha = 0.001 * (1 - 0.999).squareRoot() / (1 - 0.9)
            return w - m * alpha / (v.squareRoot() + 1e-7)
        }
        let want = [expected(1, 0.5), expected(2, -2), expected(3, 1e-3), expected(4, 0)]
        for i in 0..<4 { #expect(abs(Double(net.layers[0].kernel[i]) - want[i]) < 1e-6) }
        #expect(abs(Double(net.layers[0].bias[0]) - expected(0.5, 4)) < 1e-6)
        #expect(abs(Double(net.layers[0].bias[1]) - expected(-0.5, -1e-6)) < 1e-7)
        // A large gradient moves a weight by almost exactly the learning rate (Adam's scale invariance).
        #expect(abs(Double(net.layers[0].bias[0]) - (0.5 - 0.001)) < 1e-7)
        #expect(adam.iterations == 1)
    }

    @Test func secondStepUsesBiasCorrection() {
        var net = Autoencoder(layers: [DenseLayer(inputSize: 1, outputSize: 1, activation: .linear, kernel: [0], bias: [0])], latentLayer: 0)
        var adam = AdamOptimizer(for: net)
        var g = Gradients(for: net)
        g.kernels[0] = [1]; g.biases[0] = [1]
        adam.step(&net, g)
        g.kernels[0] = [-1]
        adam.step(&net, g)
        // m = 0.9·0.1 − 0.1 = −0.01, v = 0.999·0.001 + 0.001 = 0.001999
        let alpha = 0.001 * (1 - 0.999 * 0.999).squareRoot() / (1 - 0.81)
        let afterFirst = 0 - 0.1 * (0.001 * (0.001).squareRoot() / 0.1) / ((0.001).squareRoot() + 1e-7)
        let want = afterFirst - (-0.01) * alpha / ((0.001999).squareRoot() + 1e-7)
        #expect(abs(Double(net.layers[0].kernel[0]) - want) < 1e-7)
    }
}
