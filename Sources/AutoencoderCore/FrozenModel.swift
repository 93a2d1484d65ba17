/// A trained model's scaler and network copied into memory it owns, read-only: for serving
/// from many threads at once.
///
/// Array-backed weights make every request on every core retain and release the same arrays,
/// and an array's reference count shares a cache line with its header, so under load those
/// lines move between cores on every request (measured: two threads answering at once spent
/// 1.6 µs more per 7 µs request than one, `ae-bench route --threads 2`). Here a request reads
/// plain memory and writes only its own buffers. The math is the code `Autoencoder` and
/// `MinMaxScaler` run (`DenseLayer.forward`, `MinMaxScaler.transform`/`inverse`), so results
/// are bit-identical to theirs.
public final class FrozenModel: @unchecked Sendable {   // immutable after init
    public let inputSize: Int
    public let latentSize: Int
    /// Floats of `activations` one row needs: every layer's output.
    public let activationsPerRow: Int
    private let latentLayer: Int
    private let layers: UnsafeMutableBufferPointer<Layer>
    private let memory: UnsafeMutableRawPointer
    private let scale: UnsafeMutablePointer<Double>
    private let min: UnsafeMutablePointer<Double>

    struct Layer {
        let kernel: UnsafePointer<Float>
        let bias: UnsafePointer<Float>
        let inputSize: Int
        let outputSize: Int
        let activation: Activation
        /// Σ of the widths of the layers before this one: its outputs start at rows × this.
        let offset: Int
    }

    public init(_ model: TrainedModel) {
        let net = model.network
        let n = net.inputSize
        let floats = net.layers.reduce(0) { $0 + $1.kernel.count + $1.bias.count }
        memory = .allocate(byteCount: 2 * n * MemoryLayout<Double>.stride + floats * MemoryLayout<Float>.stride, alignment: 64)
        scale = memory.bindMemory(to: Double.self, capacity: 2 * n)
        min = scale + n
        scale.initialize(from: model.scaler.scale, count: n)
        min.initialize(from: model.scaler.min, count: n)
        var w = (memory + 2 * n * MemoryLayout<Double>.stride).bindMemory(to: Float.self, capacity: floats)
        var layers: [Layer] = []
        var offset = 0
        for l in net.layers {
            w.initialize(from: l.kernel, count: l.kernel.count)
            (w + l.kernel.count).initialize(from: l.bias, count: l.bias.count)
            layers.append(Layer(kernel: w, bias: w + l.kernel.count, inputSize: l.inputSize, outputSize: l.outputSize,
                                activation: l.activation, offset: offset))
            offset += l.outputSize
            w += l.kernel.count + l.bias.count
        }
        self.layers = .allocate(capacity: layers.count)
        _ = self.layers.initialize(from: layers)
        inputSize = n
        latentLayer = net.latentLayer
        latentSize = net.latentSize
        activationsPerRow = offset
    }

    deinit {
        memory.deallocate()
        layers.deallocate()
    }

    /// Raw rows (client units, float64) to the network's input, as `MinMaxScaler.transform`.
    public func scale(_ values: UnsafeBufferPointer<Double>, into out: UnsafeMutablePointer<Float>) {
        MinMaxScaler.transform(values, columns: inputSize, scale: scale, min: min, into: out)
    }

    /// Scaled rows back to client units, as `MinMaxScaler.inverse`.
    public func unscale(_ scaled: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>) {
        MinMaxScaler.inverse(scaled, columns: inputSize, scale: scale, min: min, into: out)
    }

    /// Latent vectors of `rows` scaled rows into `latent` (`rows × latentSize`), `capacity` rows
    /// at a time through `activations` (`capacity × activationsPerRow` floats).
    public func encode(_ x: UnsafePointer<Float>, rows: Int, into latent: UnsafeMutablePointer<Float>,
                       activations: UnsafeMutablePointer<Float>, capacity: Int) {
        var r = 0
        while r < rows {
            let b = Swift.min(capacity, rows - r)
            let z = forward(x + r * inputSize, rows: b, through: latentLayer, activations: activations)
            (latent + r * latentSize).update(from: z, count: b * latentSize)
            r += b
        }
    }

    /// Reconstructions (`rows × inputSize`) and their mean squared errors (Keras's `mse`,
    /// scaled space) of `rows` scaled rows, `capacity` rows at a time through `activations`.
    public func reconstruct(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                            errors: UnsafeMutablePointer<Float>, activations: UnsafeMutablePointer<Float>, capacity: Int) {
        var r = 0
        while r < rows {
            let b = Swift.min(capacity, rows - r)
            let xi = x + r * inputSize
            let out = forward(xi, rows: b, through: layers.count - 1, activations: activations)
            for i in 0..<b { errors[r + i] = Autoencoder.meanSquaredError(xi + i * inputSize, out + i * inputSize, inputSize) }
            (y + r * inputSize).update(from: out, count: b * inputSize)
            r += b
        }
    }

    /// Layers 0...last over `rows` rows; returns the last one's outputs (inside `activations`).
    private func forward(_ x: UnsafePointer<Float>, rows: Int, through last: Int,
                         activations: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
        var input = x
        var out = activations
        for l in 0...last {
            let L = layers[l]
            out = activations + rows * L.offset
            DenseLayer.forward(kernel: L.kernel, bias: L.bias, inputSize: L.inputSize, outputSize: L.outputSize,
                               activation: L.activation, input, rows: rows, into: out)
            input = UnsafePointer(out)
        }
        return out
    }
}
