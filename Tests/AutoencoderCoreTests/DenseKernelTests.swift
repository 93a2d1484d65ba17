@testable import AutoencoderCore
import LayerKernels
import Testing

/// `nk_dense` is the network's product for training's forward pass, evaluation and serving. A
/// row must give the same bits alone or in any batch (OpenBLAS did not, on Zen), and each output
/// must be the bias plus the products added in input order, unfused.
@Suite struct DenseKernelTests {
    /// The specification, one output at a time.
    static func reference(_ w: [Float], _ b: [Float], _ x: ArraySlice<Float>, inputs: Int, outputs: Int) -> [Float] {
        (0..<outputs).map { j in
            var s = b[j]
            for (i, xi) in x.enumerated() {
                let p = xi * w[i * outputs + j]   // two statements: no fused multiply-add
                s = s + p
            }
            return s
        }
    }

    @Test(arguments: [(1, 1), (3, 7), (115, 64), (64, 32), (32, 16), (16, 32), (64, 115), (40, 33), (9, 95),
                       (10, 2), (12, 4), (20, 5), (8, 6),   // after the blocks of 32, 16 and 8: 1 to 7 outputs left
                       (5, 17), (3, 31), (7, 16)])   // AVX-512's blocks of 16, the last overlapping the one before by 15, 1 or none
    func everyRowAloneAndInABatchEqualsTheSpecification(_ inputs: Int, _ outputs: Int) {
        var rng = SplitMix64(seed: UInt64(inputs * 1000 + outputs))
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.nextUnitFloat() * 2 - 1 } }
        let w = random(inputs * outputs), b = random(outputs)
        for rows in [37, 6] { check(w, b, inputs: inputs, outputs: outputs, rows: rows, &rng) }
    }

    /// `rows` random rows in one batch (AVX-512: groups of four, then the 1 or 2 left) and each alone.
    func check(_ w: [Float], _ b: [Float], inputs: Int, outputs: Int, rows: Int, _ rng: inout SplitMix64) {
        let x = (0..<(rows * inputs)).map { _ in rng.nextUnitFloat() * 2 - 1 }
        var batch = [Float](repeating: .nan, count: rows * outputs + 8)
        nk_dense(w, b, x, &batch, rows, inputs, outputs)
        #expect(batch[(rows * outputs)...].allSatisfy { $0.isNaN }, "wrote past the rows")
        var differ = 0
        for r in 0..<rows {
            let spec = Self.reference(w, b, x[(r * inputs)..<((r + 1) * inputs)], inputs: inputs, outputs: outputs)
            var alone = [Float](repeating: 0, count: outputs)
            Array(x[(r * inputs)..<((r + 1) * inputs)]).withUnsafeBufferPointer { nk_dense(w, b, $0.baseAddress!, &alone, 1, inputs, outputs) }
            for j in 0..<outputs where alone[j].bitPattern != spec[j].bitPattern || batch[r * outputs + j].bitPattern != spec[j].bitPattern {
                differ += 1
            }
        }
        #expect(differ == 0, "\(rows) rows")
    }
}
