/// The five features with the largest squared error in the scaled space, largest first
/// (ties: the lower feature index first): what a `/reconstruct` answer and an `ae detect` alert
/// name as the reason.
public struct TopErrors: Sendable {
    public static let size = 5
    public var index = InlineArray<5, Int>(repeating: 0)
    public var error = InlineArray<5, Float>(repeating: 0)
    public var count = 0

    public init(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) {
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
