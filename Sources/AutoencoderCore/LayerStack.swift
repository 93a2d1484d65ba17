/// A layer as the forward pass reads it: its weights in plain memory, and its shape.
public struct LayerView {
    /// `inputSize × outputSize`, row-major (Keras's kernel layout).
    public let kernel: UnsafePointer<Float>
    /// `outputSize`.
    public let bias: UnsafePointer<Float>
    public let inputSize: Int
    public let outputSize: Int
    public let activation: Activation
}

/// A stack of dense layers, and the forward pass over it: the one that training (`Autoencoder`,
/// weights in arrays it updates) and serving (`FrozenModel`, weights in memory of its own) both
/// run, so an answer is the same bits whichever holds the weights.
///
/// Activations are one flat buffer: for a pass over `rows` rows, layer l's outputs start at
/// `rows × (Σ of the widths of the layers before l)`, so `capacity × activationsPerRow` floats
/// hold every layer's outputs for up to `capacity` rows (the backward pass reads them there).
///
/// The pass itself (`encodeRows`, `reconstructRows`) is internal: each conforming type offers it
/// through concrete methods, which the optimizer specializes (a call through the protocol from
/// another module would not be).
public protocol LayerStack {
    var layerCount: Int { get }
    var inputSize: Int { get }
    /// Index of the layer whose output is the latent code.
    var latentLayer: Int { get }
    /// Floats the activations of one row take: every layer's outputs.
    var activationsPerRow: Int { get }
    /// Runs `body` with layer `l`'s weights in plain memory.
    func withLayer<R>(_ l: Int, _ body: (LayerView) -> R) -> R
}

extension LayerStack {
    public var latentSize: Int { withLayer(latentLayer) { $0.outputSize } }

    /// Where layer `l`'s outputs start in the activations of a `rows`-row pass.
    @inlinable
    func outputOffset(_ l: Int, rows: Int) -> Int {
        var offset = 0
        for k in 0..<l { offset += withLayer(k) { $0.outputSize } }
        return rows * offset
    }

    /// Layers 0...last over `rows` rows of `x`, each layer's outputs into `activations`; returns
    /// the last one's.
    @inline(__always)
    func forward(_ x: UnsafePointer<Float>, rows: Int, through last: Int, activations: UnsafeMutablePointer<Float>,
                 product: DenseLayer.Product = .perRow) -> UnsafeMutablePointer<Float> {
        var input = x
        var out = activations
        var offset = 0
        for l in 0...last {
            withLayer(l) { layer in
                out = activations + rows * offset
                DenseLayer.forward(kernel: layer.kernel, bias: layer.bias, inputSize: layer.inputSize,
                                   outputSize: layer.outputSize, activation: layer.activation, input, rows: rows,
                                   into: out, product: product)
                offset += layer.outputSize
            }
            input = UnsafePointer(out)
        }
        return out
    }

    /// Latent vectors of `rows` scaled rows into `latent` (`rows × latentSize`), `capacity` rows
    /// at a time through `activations` (`capacity × activationsPerRow` floats).
    func encodeRows(_ x: UnsafePointer<Float>, rows: Int, into latent: UnsafeMutablePointer<Float>,
                       activations: UnsafeMutablePointer<Float>, capacity: Int) {
        let n = inputSize, k = latentSize
        var r = 0
        while r < rows {
            let b = Swift.min(capacity, rows - r)
            let z = forward(x + r * n, rows: b, through: latentLayer, activations: activations)
            (latent + r * k).update(from: z, count: b * k)
            r += b
        }
    }

    /// Reconstructions (`rows × inputSize`, when `y` is given) and their mean squared errors
    /// (Keras's `mse`, scaled space) of `rows` scaled rows, `capacity` rows at a time through
    /// `activations`; with `latent`, the latent vectors the same pass computed on the way
    /// (`encodeRows`' bits: the same layers in the same order).
    func reconstructRows(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>?,
                            errors: UnsafeMutablePointer<Float>, activations: UnsafeMutablePointer<Float>, capacity: Int,
                            latent: UnsafeMutablePointer<Float>? = nil, product: DenseLayer.Product = .perRow) {
        let n = inputSize, k = latentSize
        var r = 0
        while r < rows {
            let b = Swift.min(capacity, rows - r)
            let xi = x + r * n
            let out = forward(xi, rows: b, through: layerCount - 1, activations: activations, product: product)
            for i in 0..<b { errors[r + i] = Autoencoder.meanSquaredError(xi + i * n, out + i * n, n) }
            if let y { (y + r * n).update(from: out, count: b * n) }
            if let latent { (latent + r * k).update(from: activations + outputOffset(latentLayer, rows: b), count: b * k) }
            r += b
        }
    }
}
