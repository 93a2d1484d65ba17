/// The seed tutorial's autoencoder as a stack of Dense layers:
/// n → 64 → LeakyReLU → 32 → LeakyReLU → 16 tanh (latent) → 32 → LeakyReLU → 64 → LeakyReLU → n sigmoid.
///
/// Keras writes LeakyReLU as a separate layer after a linear Dense; a Dense with a
/// leaky-ReLU activation is the same function, with the same weights.
public struct Autoencoder: Sendable, Equatable {
    public var layers: [DenseLayer]
    /// Index of the layer whose output is the latent code.
    public let latentLayer: Int

    public init(layers: [DenseLayer], latentLayer: Int) {
        precondition(!layers.isEmpty && layers.indices.contains(latentLayer))
        for (a, b) in zip(layers, layers.dropFirst()) { precondition(a.outputSize == b.inputSize, "layer sizes do not chain") }
        precondition(layers.first!.inputSize == layers.last!.outputSize, "an autoencoder's output size equals its input size")
        self.layers = layers
        self.latentLayer = latentLayer
    }

    /// A freshly initialised network (Keras initialisers), encoder `hidden` then `latent`, decoder mirrored.
    public init(inputSize: Int, hidden: [Int] = [64, 32], latent: Int = 16, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let sizes = [inputSize] + hidden + [latent] + hidden.reversed() + [inputSize]
        var layers: [DenseLayer] = []
        for i in 0..<(sizes.count - 1) {
            let activation: Activation
            if i == hidden.count { activation = .tanh }                 // Dense(16, activation="tanh")
            else if i == sizes.count - 2 { activation = .sigmoid }      // Dense(n, activation="sigmoid")
            else { activation = .leakyRelu }                            // Dense(k) then LeakyReLU()
            layers.append(DenseLayer(inputSize: sizes[i], outputSize: sizes[i + 1], activation: activation, rng: &rng))
        }
        self.init(layers: layers, latentLayer: hidden.count)
    }

    public var inputSize: Int { layers[0].inputSize }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.kernel.count + $1.bias.count } }

    /// Runs layers 0...last over `rows` inputs, keeping each layer's output in `workspace` (for
    /// `backward`).
    func forward(_ x: UnsafePointer<Float>, rows: Int, through last: Int, workspace: inout Workspace,
                 product: DenseLayer.Product = .perRow) {
        precondition(rows <= workspace.capacity, "batch larger than the workspace")
        workspace.activations.withUnsafeMutableBufferPointer { a in
            _ = forward(x, rows: rows, through: last, activations: a.baseAddress!, product: product)
        }
    }

    /// Encodes `rows` scaled inputs into `out` (`rows × latentSize`), in chunks of the workspace's capacity.
    public func encode(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Float>, workspace: inout Workspace) {
        let rows = x.count / inputSize
        precondition(out.count == rows * latentSize)
        let capacity = workspace.capacity
        workspace.activations.withUnsafeMutableBufferPointer { a in
            encodeRows(x.baseAddress!, rows: rows, into: out.baseAddress!, activations: a.baseAddress!, capacity: capacity)
        }
    }

    /// Reconstructs `rows` scaled inputs. `reconstruction` (`rows × n`) may be nil; `errors`
    /// receives each row's mean squared error in the scaled space (Keras's `mse`, float32).
    public func reconstruct(_ x: UnsafeBufferPointer<Float>, reconstruction: UnsafeMutableBufferPointer<Float>?,
                            errors: UnsafeMutableBufferPointer<Float>, workspace: inout Workspace,
                            product: DenseLayer.Product = .perRow) {
        let rows = x.count / inputSize
        precondition(errors.count == rows)
        let capacity = workspace.capacity
        workspace.activations.withUnsafeMutableBufferPointer { a in
            reconstructRows(x.baseAddress!, rows: rows, into: reconstruction?.baseAddress, errors: errors.baseAddress!,
                        activations: a.baseAddress!, capacity: capacity, product: product)
        }
    }

    /// Mean over the last axis of (y − ŷ)², as `keras.losses.mean_squared_error` computes it.
    ///
    /// The sum is eight interleaved partial sums (element j goes to sum j mod 8), added pairwise at
    /// the end: a fixed order, like the tree reductions TensorFlow runs, that takes one vector add
    /// per eight elements. Summed in order, 115 dependent adds cost 0.15 µs per row.
    @inline(__always)
    static func meanSquaredError(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var s = SIMD8<Float>()
        var j = 0
        while j + 8 <= n {
            let d = UnsafeRawPointer(b + j).loadUnaligned(as: SIMD8<Float>.self)
                - UnsafeRawPointer(a + j).loadUnaligned(as: SIMD8<Float>.self)
            s = s + d * d
            j += 8
        }
        for k in 0..<(n - j) { let d = b[j + k] - a[j + k]; s[k] = s[k] + d * d }
        let four = s.lowHalf + s.highHalf, two = four.lowHalf + four.highHalf
        return (two[0] + two[1]) / Float(n)
    }

    /// One training step's gradients for a batch: returns the batch's MSE loss and fills
    /// `gradients` (same layout as the layers). Assumes `forward(..., through: last)` ran on `x`.
    func backward(_ x: UnsafePointer<Float>, rows: Int, workspace: inout Workspace, gradients: inout Gradients) -> Float {
        let n = inputSize
        let last = layers.count - 1
        // Loss "sum_over_batch_size": L = Σ (ŷ − y)² / (rows · n), so dL/dŷ = 2 (ŷ − y) / (rows · n).
        let scale = 2 / Float(rows * n)
        var loss: Float = 0
        workspace.activations.withUnsafeMutableBufferPointer { activations in
            workspace.deltas.withUnsafeMutableBufferPointer { deltas in
                let outputs = activations.baseAddress!, ds = deltas.baseAddress!
                var start = outputOffset(last, rows: rows)           // the layer's outputs (and deltas) start here
                for i in 0..<(rows * n) {
                    let d = outputs[start + i] - x[i]
                    loss += d * d
                    ds[start + i] = d * scale
                }
                for l in stride(from: last, through: 0, by: -1) {
                    let layer = layers[l]
                    let cin = layer.inputSize, cout = layer.outputSize
                    let previous = l > 0 ? start - rows * cin : 0    // the layer before: its width is our input size
                    let delta = ds + start
                    layer.activation.backward(output: outputs + start, grad: delta, count: rows * cout)
                    let input = l > 0 ? UnsafePointer(outputs + previous) : x
                    // dW = inputᵀ · dZ
                    gradients.kernels[l].withUnsafeMutableBufferPointer { gw in
                        BLAS.gemm(transA: true, m: cin, n: cout, k: rows, a: input, b: delta, beta: 0, c: gw.baseAddress!)
                    }
                    // db = Σ_rows dZ
                    gradients.biases[l].withUnsafeMutableBufferPointer { gb in
                        for j in 0..<cout { gb[j] = 0 }
                        for r in 0..<rows { for j in 0..<cout { gb[j] += delta[r * cout + j] } }
                    }
                    // dX = dZ · Wᵀ, into the previous layer's delta
                    if l > 0 {
                        layer.kernel.withUnsafeBufferPointer { w in
                            BLAS.gemm(transB: true, m: rows, n: cin, k: cout, a: delta, b: w.baseAddress!, beta: 0, c: ds + previous)
                        }
                    }
                    start = previous
                }
            }
        }
        return loss / Float(rows * n)
    }
}

extension Autoencoder: LayerStack {
    public var layerCount: Int { layers.count }
    public var activationsPerRow: Int { layers.reduce(0) { $0 + $1.outputSize } }

    @inline(__always)
    public func withLayer<R>(_ l: Int, _ body: (LayerView) -> R) -> R {
        let layer = layers[l]
        return layer.kernel.withUnsafeBufferPointer { w in
            layer.bias.withUnsafeBufferPointer { b in
                body(LayerView(kernel: w.baseAddress!, bias: b.baseAddress!, inputSize: layer.inputSize,
                               outputSize: layer.outputSize, activation: layer.activation))
            }
        }
    }
}

/// Scratch buffers for a batch of up to `capacity` rows: every layer's outputs and their
/// gradients, laid out as `LayerStack` says. Allocated once, so the training loop allocates nothing.
public struct Workspace: Sendable {
    public let capacity: Int
    var activations: [Float]
    var deltas: [Float]

    public init(for network: Autoencoder, capacity: Int) {
        self.capacity = capacity
        activations = [Float](repeating: 0, count: capacity * network.activationsPerRow)
        deltas = activations
    }
}

/// Gradients with the layers' shapes.
public struct Gradients: Sendable {
    public var kernels: [[Float]]
    public var biases: [[Float]]

    public init(for network: Autoencoder) {
        kernels = network.layers.map { [Float](repeating: 0, count: $0.kernel.count) }
        biases = network.layers.map { [Float](repeating: 0, count: $0.bias.count) }
    }
}
