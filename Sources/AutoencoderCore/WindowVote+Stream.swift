extension WindowVote {
    /// `count`'s rule one instance at a time, for a device whose instances arrive as packets do
    /// (`ae detect`): the same windows, the same verdicts, in the same order, in constant memory.
    public struct Stream: Sendable {
        public let size: Int
        /// The last `size` flags, as a ring.
        private var ring: [Bool]
        private var next = 0
        private var inWindow = 0
        /// Instances seen.
        public private(set) var instances = 0
        /// Windows completed so far, and how many were anomalous.
        public private(set) var windows = 0
        public private(set) var anomalous = 0

        public init(size: Int) {
            precondition(size >= 1)
            self.size = size
            ring = [Bool](repeating: false, count: size)
        }

        /// Adds the next instance's flag. Returns the verdict of the window it completes, or nil
        /// for the first `size − 1` instances, which complete none.
        public mutating func add(_ flag: Bool) -> Bool? {
            if instances >= size, ring[next] { inWindow -= 1 }
            ring[next] = flag
            if flag { inWindow += 1 }
            next = next + 1 == size ? 0 : next + 1
            instances += 1
            guard instances >= size else { return nil }
            windows += 1
            let verdict = 2 * inWindow > size
            if verdict { anomalous += 1 }
            return verdict
        }
    }
}
