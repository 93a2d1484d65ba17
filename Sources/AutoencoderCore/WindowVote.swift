/// N-BaIoT's window voting: a device is called infected only when the majority of a window of
/// its consecutive instances is anomalous.
///
/// The rule, exactly: windows slide one instance at a time over one device's instances in order.
/// The window ending at instance `i` (0-based) holds instances `i − size + 1 … i`; it is anomalous
/// when more than half of them are (`2 · anomalous > size`), so a window split exactly in half is
/// benign. Instances before the first full window get no windowed verdict: a file of `n` instances
/// has `n − size + 1` windows, none when `n < size`.
public enum WindowVote {
    /// How many windows of `size` over `flags` there are, and how many are anomalous; `first` is
    /// the index of the last instance of the first anomalous window (nil when none is).
    public struct Count: Sendable, Equatable {
        public var windows: Int
        public var anomalous: Int
        public var first: Int?
        /// nil when there is no window.
        public var rate: Double? { windows == 0 ? nil : Double(anomalous) / Double(windows) }
    }

    /// Counts windows in one pass, keeping the number of anomalous instances in the current window.
    /// (Any collection of flags: the server passes its errors compared with the threshold, lazily.)
    public static func count<Flags: RandomAccessCollection>(_ flags: Flags, size: Int) -> Count
    where Flags.Element == Bool, Flags.Index == Int {
        precondition(size >= 1)
        guard flags.count >= size else { return Count(windows: 0, anomalous: 0, first: nil) }
        var inWindow = 0
        var result = Count(windows: flags.count - size + 1, anomalous: 0, first: nil)
        let start = flags.startIndex
        for i in 0..<flags.count {
            if flags[start + i] { inWindow += 1 }
            if i >= size, flags[start + i - size] { inWindow -= 1 }
            if i >= size - 1, 2 * inWindow > size {
                result.anomalous += 1
                if result.first == nil { result.first = i }
            }
        }
        return result
    }

    /// The outcome of looking for `ws*`.
    public enum Search: Sendable, Equatable {
        /// The smallest window size with no anomalous window.
        case found(Int)
        /// No size up to the bound had zero: the best one seen (lowest rate, smallest on ties).
        case notFound(best: Int, rate: Double, searchedUpTo: Int)
    }

    /// N-BaIoT's `ws*`: the smallest window whose majority vote raises no alarm on `flags`
    /// (benign instances, the `opt` third), trying sizes 1 … min(maxWindow, flags.count).
    public static func smallestWindowWithoutAlarms(_ flags: [Bool], maxWindow: Int) -> Search {
        smallestWindowWithoutAlarms([flags], maxWindow: maxWindow)
    }

    /// The same over several devices' sequences at once: no alarm on any of them, windows never
    /// spanning two; sizes up to the shortest sequence. The rate is over all their windows.
    public static func smallestWindowWithoutAlarms(_ sequences: [[Bool]], maxWindow: Int) -> Search {
        precondition(maxWindow >= 1 && !sequences.isEmpty && sequences.allSatisfy { !$0.isEmpty })
        let bound = min(maxWindow, sequences.map(\.count).min()!)
        var best = (size: 1, rate: Double.infinity)
        for size in 1...bound {
            let counts = sequences.map { count($0, size: size) }
            let anomalous = counts.map(\.anomalous).reduce(0, +)
            if anomalous == 0 { return .found(size) }
            let rate = Double(anomalous) / Double(counts.map(\.windows).reduce(0, +))
            if rate < best.rate { best = (size, rate) }
        }
        return .notFound(best: best.size, rate: best.rate, searchedUpTo: bound)
    }
}
