import Testing
@testable import AutoencoderCore

/// `TopErrors` against sorting every feature's squared error (largest first, ties by index), on
/// rows of every length 1…140: random, with ties, rising (each new feature enters the list) and
/// all equal.
@Suite struct TopErrorsTests {
    @Test func equalsSortingEveryError() {
        var rng = SplitMix64(seed: 17)
        for round in 0..<600 {
            let n = round % 140 + 1
            var x = (0..<n).map { _ in rng.nextUnitFloat() }
            var y = (0..<n).map { _ in rng.nextUnitFloat() }
            if round % 3 == 0 { for j in 0..<n where j % 4 == 0 { y[j] = x[j] + 0.25 } }   // ties
            if round % 5 == 0 { for j in 0..<n { y[j] = x[j] + Float(j) * 1e-3 } }      // rising: each block has new top ones
            if round % 7 == 0 { x = [Float](repeating: 0.5, count: n); y = x }            // all equal (zero)
            let errors = (0..<n).map { (y[$0] - x[$0]) * (y[$0] - x[$0]) }
            let expected = errors.indices.sorted { errors[$0] != errors[$1] ? errors[$0] > errors[$1] : $0 < $1 }.prefix(5)
            let top = x.withUnsafeBufferPointer { xs in y.withUnsafeBufferPointer { ys in TopErrors(xs, ys) } }
            #expect(top.count == min(5, n))
            #expect((0..<top.count).map { top.index[$0] } == Array(expected), "round \(round), n = \(n)")
            #expect((0..<top.count).map { top.error[$0] } == expected.map { errors[$0] })
        }
    }
}
