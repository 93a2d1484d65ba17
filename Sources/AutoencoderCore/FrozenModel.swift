/// A trained model's scaler and network copied into memory it owns, read-only: for serving
/// from many threads at once.
///
/// Array-backed weights make every request on every core retain and release the same arrays,
/// and an array's reference count shares a cache line with its header, so under load those
/// lines move between cores on every request (measured: two threads answering at once spent
/// 1.6 µs more per 7 µs request than one, `ae-bench route --threads 2`). Here a request reads
/// plain memory and writes only its own buffers. The math is the code `Autoencoder` and
/// `MinMaxScaler` run (`LayerStack`'s forward pass, `MinMaxScaler.transform`/`inverse`), so
/// results are bit-identical to theirs.
public final class FrozenModel: LayerStack, @unchecked Sendable {   // immutable after init
    public let inputSize: Int
    public let latentLayer: Int
    public let activationsPerRow: Int
    private let layers: UnsafeMutableBufferPointer<LayerView>
    private let memory: UnsafeMutableRawPointer
    private let scale: UnsafeMutablePointer<Double>
    private let min: UnsafeMutablePointer<Double>

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
        var layers: [LayerView] = []
        for l in net.layers {
            w.initialize(from: l.kernel, count: l.kernel.count)
            (w + l.kernel.count).initialize(from: l.bias, count: l.bias.count)
            layers.append(LayerView(kernel: w, bias: w + l.kernel.count, inputSize: l.inputSize, outputSize: l.outputSize,
                                    activation: l.activation))
            w += l.kernel.count + l.bias.count
        }
        self.layers = .allocate(capacity: layers.count)
        _ = self.layers.initialize(from: layers)
        inputSize = n
        latentLayer = net.latentLayer
        activationsPerRow = net.activationsPerRow
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
        encodeRows(x, rows: rows, into: latent, activations: activations, capacity: capacity)
    }

    /// Reconstructions (`rows × inputSize`, when `y` is given) and their mean squared errors
    /// (Keras's `mse`, scaled space) of `rows` scaled rows, `capacity` rows at a time through
    /// `activations`; with `latent`, also the latent vectors (`rows × latentSize`) from the same
    /// pass.
    public func reconstruct(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>?,
                            errors: UnsafeMutablePointer<Float>, activations: UnsafeMutablePointer<Float>, capacity: Int,
                            latent: UnsafeMutablePointer<Float>? = nil) {
        reconstructRows(x, rows: rows, into: y, errors: errors, activations: activations, capacity: capacity, latent: latent)
    }

    /// Where the reconstructions of a pass of `rows` ≤ `capacity` rows are in its `activations`
    /// (`rows × inputSize`), until the next pass: a caller that reads few of them (`ae detect`,
    /// for the top features of an alert) need not have the pass copy them all out.
    public func reconstructions(in activations: UnsafePointer<Float>, rows: Int) -> UnsafePointer<Float> {
        activations + outputOffset(layerCount - 1, rows: rows)
    }

    public var layerCount: Int { layers.count }

    @inline(__always)
    public func withLayer<R>(_ l: Int, _ body: (LayerView) -> R) -> R { body(layers[l]) }
}
