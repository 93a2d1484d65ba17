import AutoencoderCore

/// The buffers one request works in. Each worker keeps one, shared by the models it serves (only
/// one request runs on a worker at a time), so a request allocates nothing in the common case
/// and a hundred models cost a hundred sets of weights, not a hundred sets of buffers too; a
/// large batch grows them and they are then replaced by small ones.
struct RequestScratch: Sendable {
    /// Rows the forward pass runs at once; bigger batches go through it in chunks.
    static let chunkRows = 64
    /// Every layer's outputs for `chunkRows` rows.
    var activations: [Float]
    /// Raw features as parsed, `rows × n`.
    var values: [Double] = []
    /// Scaled features, `rows × n`.
    var scaled: [Float] = []
    /// Reconstructions (`rows × n`) or latent vectors (`rows × k`).
    var output: [Float] = []
    /// Per-row reconstruction errors.
    var errors: [Float] = []
    /// Latent vectors when a request asks for them beside the reconstruction (OIP v2), `rows × k`.
    var latent: [Float] = []
    /// An OIP v2 binary request's JSON part, copied to end in a NUL of its own.
    var json: [UInt8] = []
    /// One row back in the client's units.
    var unscaled: [Float]

    init(_ model: FrozenModel) {
        activations = [Float](repeating: 0, count: Self.chunkRows * model.activationsPerRow)
        unscaled = [Float](repeating: 0, count: model.inputSize)
    }

    /// Sized for `model`: room for its activations, and `unscaled` exactly one of its rows.
    @inline(__always)
    mutating func fit(_ model: FrozenModel) {
        if activations.count < Self.chunkRows * model.activationsPerRow {
            activations = [Float](repeating: 0, count: Self.chunkRows * model.activationsPerRow)
        }
        if unscaled.count != model.inputSize { unscaled = [Float](repeating: 0, count: model.inputSize) }
    }

    var isSmall: Bool { values.capacity <= Self.chunkRows * unscaled.count }

    /// Sizes `array` to `count` zeros, keeping its storage when it is big enough.
    static func resize(_ array: inout [Float], _ count: Int) {
        if array.count != count {
            array.removeAll(keepingCapacity: true)
            array.append(contentsOf: repeatElement(0, count: count))
        }
    }
}
