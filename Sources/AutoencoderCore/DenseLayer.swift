import NumberKernels

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

    /// Forward pass of `rows` inputs: out = activation(x · W + b).
    @inline(__always)
    func forward(_ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        kernel.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                Self.forward(kernel: w.baseAddress!, bias: b.baseAddress!, inputSize: inputSize, outputSize: outputSize,
                             activation: activation, x, rows: rows, into: out)
            }
        }
    }

    /// The layer's math on plain memory, shared by `forward` and `FrozenModel`.
    @inline(__always)
    static func forward(kernel w: UnsafePointer<Float>, bias b: UnsafePointer<Float>, inputSize: Int, outputSize: Int,
                        activation: Activation, _ x: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>) {
        // Not BLAS: its kernels add in an order that depends on the batch and the CPU (nk_dense).
        nk_dense(w, b, x, out, rows, inputSize, outputSize)
        activation.apply(out, count: rows * outputSize)
    }
}
