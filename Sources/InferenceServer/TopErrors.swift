/// The five features with the largest squared error in the scaled space, largest first
/// (ties: the lower feature index first).
struct TopErrors {
    static let size = 5
    var index = InlineArray<5, Int>(repeating: 0)
    var error = InlineArray<5, Float>(repeating: 0)
    var count = 0

    init(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) {
        for j in 0..<x.count {
            let d = y[j] - x[j]
            let e = d * d
            guard count < Self.size || e > error[count - 1] else { continue }
            var i = min(count, Self.size - 1)
            if count < Self.size { count += 1 }
            while i > 0 && error[i - 1] < e {
                index[i] = index[i - 1]; error[i] = error[i - 1]; i -= 1
            }
            index[i] = j; error[i] = e
        }
    }
}
