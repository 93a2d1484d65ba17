/// How one model detects on one device's held-out data, per instance and with window voting, as
/// N-BaIoT reports it: FPR on the benign test third, TPR on every attack file, and how long
/// after an attack's first instance the first anomalous window closes.
public struct DeviceDetection: Sendable, Equatable, Codable {
    /// One attack file's figures.
    public struct Attack: Sendable, Equatable, Codable {
        /// `gafgyt` or `mirai`.
        public var family: String
        public var attack: String
        public var rows: Int
        public var instanceTPR: Double
        /// nil when the file has fewer rows than the window.
        public var windowTPR: Double?
        /// Instances from the file's first to the end of the first anomalous window; nil when no window is.
        public var delayInstances: Int?
        /// The same in seconds, from the rows' timestamps; nil without them.
        public var delaySeconds: Double?

        enum CodingKeys: String, CodingKey {
            case family, attack, rows, instanceTPR = "instance_tpr", windowTPR = "window_tpr"
            case delayInstances = "delay_instances", delaySeconds = "delay_seconds"
        }
    }

    public var device: String
    public var windowSize: Int
    public var threshold: Float
    public var benignRows: Int
    public var instanceFPR: Double
    public var windowFPR: Double?
    /// Pooled over every attack file (each windowed on its own).
    public var instanceTPR: Double?
    public var windowTPR: Double?
    public var attacks: [Attack]
    /// Per family (`gafgyt`, `mirai`): instance and windowed TPR over its files, pooled.
    public var families: [Family]
    /// Anomalous and total counts, for pooling devices into a fleet total.
    public var counts: Counts

    public struct Family: Sendable, Equatable, Codable {
        public var family: String
        public var rows: Int
        public var instanceTPR: Double?
        public var windowTPR: Double?
        enum CodingKeys: String, CodingKey { case family, rows, instanceTPR = "instance_tpr", windowTPR = "window_tpr" }
    }

    public struct Counts: Sendable, Equatable, Codable {
        public var benignFlagged = 0, benign = 0, benignWindowsFlagged = 0, benignWindows = 0
        public var attackFlagged = 0, attack = 0, attackWindowsFlagged = 0, attackWindows = 0

        public init() {}
        init(benignFlagged: Int, benign: Int, benignWindowsFlagged: Int, benignWindows: Int,
             attackFlagged: Int, attack: Int, attackWindowsFlagged: Int, attackWindows: Int) {
            self.benignFlagged = benignFlagged; self.benign = benign
            self.benignWindowsFlagged = benignWindowsFlagged; self.benignWindows = benignWindows
            self.attackFlagged = attackFlagged; self.attack = attack
            self.attackWindowsFlagged = attackWindowsFlagged; self.attackWindows = attackWindows
        }

        public static func + (a: Counts, b: Counts) -> Counts {
            Counts(benignFlagged: a.benignFlagged + b.benignFlagged, benign: a.benign + b.benign,
                   benignWindowsFlagged: a.benignWindowsFlagged + b.benignWindowsFlagged, benignWindows: a.benignWindows + b.benignWindows,
                   attackFlagged: a.attackFlagged + b.attackFlagged, attack: a.attack + b.attack,
                   attackWindowsFlagged: a.attackWindowsFlagged + b.attackWindowsFlagged, attackWindows: a.attackWindows + b.attackWindows)
        }
        static func rate(_ a: Int, _ n: Int) -> Double? { n == 0 ? nil : Double(a) / Double(n) }
        public var instanceFPR: Double? { Self.rate(benignFlagged, benign) }
        public var windowFPR: Double? { Self.rate(benignWindowsFlagged, benignWindows) }
        public var instanceTPR: Double? { Self.rate(attackFlagged, attack) }
        public var windowTPR: Double? { Self.rate(attackWindowsFlagged, attackWindows) }
    }

    /// An attack file's reconstruction errors, in row order, with its rows' times when known.
    public struct AttackErrors: Sendable {
        public var family: String, attack: String
        public var errors: [Float]
        public var timestamps: [Double]?
        public init(family: String, attack: String, errors: [Float], timestamps: [Double]?) {
            self.family = family; self.attack = attack; self.errors = errors; self.timestamps = timestamps
        }
    }

    /// `benign`: the errors of the held-out benign third, in order. A row is anomalous when its
    /// error is above `threshold`; windows follow `WindowVote`.
    public init(device: String, threshold: Float, windowSize: Int, benign: [Float], attacks: [AttackErrors]) {
        self.device = device
        self.threshold = threshold
        self.windowSize = windowSize
        benignRows = benign.count
        var c = Counts()
        let benignFlags = benign.map { $0 > threshold }
        let bw = WindowVote.count(benignFlags, size: windowSize)
        c.benign = benign.count
        c.benignFlagged = benignFlags.filter { $0 }.count
        c.benignWindows = bw.windows
        c.benignWindowsFlagged = bw.anomalous
        var perFamily: [String: Counts] = [:]
        var familyOrder: [String] = []
        self.attacks = attacks.map { a in
            let flags = a.errors.map { $0 > threshold }
            let w = WindowVote.count(flags, size: windowSize)
            let flagged = flags.filter { $0 }.count
            var one = Counts()
            one.attack = flags.count
            one.attackFlagged = flagged
            one.attackWindows = w.windows
            one.attackWindowsFlagged = w.anomalous
            c = c + one
            if perFamily[a.family] == nil { familyOrder.append(a.family) }
            perFamily[a.family, default: Counts()] = perFamily[a.family, default: Counts()] + one
            var delaySeconds: Double? = nil
            if let first = w.first, let t = a.timestamps, t.count == flags.count { delaySeconds = t[first] - t[0] }
            return Attack(family: a.family, attack: a.attack, rows: flags.count,
                          instanceTPR: flags.isEmpty ? 0 : Double(flagged) / Double(flags.count), windowTPR: w.rate,
                          delayInstances: w.first.map { $0 + 1 }, delaySeconds: delaySeconds)
        }
        families = familyOrder.map { f in
            let k = perFamily[f]!
            return Family(family: f, rows: k.attack, instanceTPR: k.instanceTPR, windowTPR: k.windowTPR)
        }
        counts = c
        instanceFPR = c.instanceFPR ?? 0
        windowFPR = c.windowFPR
        instanceTPR = c.instanceTPR
        windowTPR = c.windowTPR
    }

    enum CodingKeys: String, CodingKey {
        case device, windowSize = "window_size", threshold, benignRows = "benign_rows", instanceFPR = "instance_fpr"
        case windowFPR = "window_fpr", instanceTPR = "instance_tpr", windowTPR = "window_tpr", attacks, families, counts
    }
}
