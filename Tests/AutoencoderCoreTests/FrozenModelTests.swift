import Testing
@testable import AutoencoderCore

/// `FrozenModel` runs the same code as `Autoencoder` and `MinMaxScaler` on its own copy of the
/// weights, so its answers are bit-identical to theirs, one row or many, in chunks or not.
@Suite struct FrozenModelTests {
    @Test func matchesTheNetworkAndScalerBitForBit() {
        let model = ModelFileTests.smallModel()
        let frozen = FrozenModel(model)
        let n = 5, k = 2
        #expect(frozen.inputSize == n && frozen.latentSize == k && frozen.activationsPerRow == 4 + 2 + 4 + 5)
        var rng = SplitMix64(seed: 9)
        for rows in [1, 3, 7] {
            let raw = (0..<(rows * n)).map { _ in Double(rng.nextUnitFloat()) * 4 - 1 }
            let x = model.scaler.transform(raw)
            var scaled = [Float](repeating: 0, count: rows * n)
            raw.withUnsafeBufferPointer { r in scaled.withUnsafeMutableBufferPointer { frozen.scale(r, into: $0.baseAddress!) } }
            #expect(scaled == x)

            var ws = Workspace(for: model.network, capacity: 2)
            var latent = [Float](repeating: 0, count: rows * k), expectedLatent = latent
            var y = [Float](repeating: 0, count: rows * n), expectedY = y
            var errors = [Float](repeating: 0, count: rows), expectedErrors = errors
            x.withUnsafeBufferPointer { xp in
                expectedLatent.withUnsafeMutableBufferPointer { model.network.encode(xp, into: $0, workspace: &ws) }
                expectedY.withUnsafeMutableBufferPointer { yp in
                    expectedErrors.withUnsafeMutableBufferPointer { model.network.reconstruct(xp, reconstruction: yp, errors: $0, workspace: &ws) }
                }
            }
            // Two rows at a time through the activations, as the server runs batches in chunks.
            var activations = [Float](repeating: .nan, count: 2 * frozen.activationsPerRow)
            x.withUnsafeBufferPointer { xp in
                activations.withUnsafeMutableBufferPointer { a in
                    latent.withUnsafeMutableBufferPointer {
                        frozen.encode(xp.baseAddress!, rows: rows, into: $0.baseAddress!, activations: a.baseAddress!, capacity: 2)
                    }
                    y.withUnsafeMutableBufferPointer { yp in
                        errors.withUnsafeMutableBufferPointer {
                            frozen.reconstruct(xp.baseAddress!, rows: rows, into: yp.baseAddress!, errors: $0.baseAddress!,
                                               activations: a.baseAddress!, capacity: 2)
                        }
                    }
                }
            }
            #expect(latent == expectedLatent, "rows \(rows)")
            #expect(y == expectedY, "rows \(rows)")
            #expect(errors == expectedErrors, "rows \(rows)")

            // The latent vectors a reconstruction's pass gives on the way are the encoder's.
            var onTheWay = [Float](repeating: .nan, count: rows * k)
            x.withUnsafeBufferPointer { xp in
                activations.withUnsafeMutableBufferPointer { a in
                    y.withUnsafeMutableBufferPointer { yp in
                        errors.withUnsafeMutableBufferPointer { e in
                            onTheWay.withUnsafeMutableBufferPointer {
                                frozen.reconstruct(xp.baseAddress!, rows: rows, into: yp.baseAddress!, errors: e.baseAddress!,
                                                   activations: a.baseAddress!, capacity: 2, latent: $0.baseAddress!)
                            }
                        }
                    }
                }
            }
            #expect(onTheWay == expectedLatent, "rows \(rows)")
            #expect(y == expectedY && errors == expectedErrors, "rows \(rows)")

            var unscaled = [Float](repeating: 0, count: rows * n)
            y.withUnsafeBufferPointer { yp in unscaled.withUnsafeMutableBufferPointer { frozen.unscale(yp, into: $0.baseAddress!) } }
            #expect(unscaled == y.indices.map { Float(model.scaler.inverse(y[$0], column: $0 % n)) })
        }
    }
}
