import LayerKernels

/// A fully connected layer, `y = activation(x · kernel + bias)`.
///
/// The kernel is stored as Keras stores it, `inputSize × outputSize` row-major, so the
/// safetensors file loads straight into `Dense.set_weights`.
public struct DenseLayer: Sendable, Equatable {
    public let inputSize: Int
    public let outputSize: Int
    public var activation: Activation
    /// `inputSize × outputSize`, row-major.
    public var kernel: [Float]
    /// `outputSize`.
    public var bias: [Float]

    public init(inputSize: Int, outputSize: Int, activation: Activation, kernel: [Float], bias: [Float]) {
        precondition(kernel.count == inputSize * outputSize && bias.count == outputSize, "layer shape mismatch")
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.activation = activation
        self.kernel = kernel
        self.bias = bias
    }

    /// Keras's defaults for `Dense`: `kernel_initializer="glorot_uniform"`, `bias_initializer="zeros"`.
    /// Glorot uniform draws from U(−limit, limit) with limit = √(6 / (fan_in + fan_out)).
    public init(inputSize: Int, outputSize: Int, activation: Activation, rng: inout SplitMix64) {
        let limit = (6.0 / Float(inputSize + outputSize)).squareRoot()
        var kernel = [Float](repeating: 0, count: inputSize * outputSize)
        for i in kernel.indices { kernel[i] = (rng.nextUnitFloat() * 2 - 1) * limit }
        self.init(inputSize: inputSize, outputSize: outputSize, activation: activation,
                  kernel: kernel, bias: [Float](repeating: 0, count: outputSize))
    }

    /// How a layer multiplies. Both compute x · W + b; they differ in the order of the additions.
    public enum Product: Sendable {
        /// `nk_dense`: each output's products added in input order, unfused, so a row gives the
        /// same bits alone or in any batch, on any CPU. Every answer a user sees (serving,
        /// `ae evaluate`, `ae encode`, the threshold) is computed this way.
        case perRow
        /// OpenBLAS (sgemm; sgemv for one row): about 20% faster training on 32-row batches,
        /// but a row's last bits depend on the batch around it, the CPU and the threads. For
        /// training steps and the validation loss only.
        case batched
    }

    /// Forward pass of `rows` inputs: out = activation(x · W + b).
    @inline(__always)
    func forward(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>, product: Product) {
        kernel.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                Self.forward(kernel: w.baseAddress!, bias: b.baseAddress!, inputSize: inputSize, outputSize: outputSize,
                             activation: activation, x, rows: rows, into: out, product: product)
            }
        }
    }

    /// The layer's math on plain memory, shared by `forward` and `FrozenModel`.
    @inline(__always)
    static func forward(kernel w: UnsafePointer<Float>, bias b: UnsafePointer<Float>, inputSize: Int, outputSize: Int,
                        activation: Activation, _ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>,
                        product: Product = .perRow) {
        switch product {
        case .perRow:
            nk_dense(w, b, x, out, rows, inputSize, outputSize)
        case .batched:
            for r in 0..<rows { (out + r * outputSize).update(from: b, count: outputSize) }
            if rows == 1 {
                BLAS.gemvTransposed(rows: inputSize, cols: outputSize, a: w, x: x, y: out)
            } else {
                BLAS.gemm(m: rows, n: outputSize, k: inputSize, a: x, b: w, beta: 1, c: out)
            }
        }
        activation.apply(out, count: rows * outputSize)
    }
}
