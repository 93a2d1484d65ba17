/// Interns the address and port strings of packets into small integers, so the extractor
/// hashes integers, not strings. Shared by the packet reader, the simulator and the
/// extractor (which needs the strings back only in `kitsune` mode, to build Kitsune's
/// concatenated keys). Not thread-safe: one extraction pipeline owns one table.
public final class AddressTable {
    private var ids: [String: Int32] = [:]
    public private(set) var names: [String] = []

    /// The id of the empty string, always 0.
    public static let empty: Int32 = 0

    public init() { _ = intern("") }

    public func intern(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(names.count)
        ids[s] = id
        names.append(s)
        return id
    }

    public func name(_ id: Int32) -> String { names[Int(id)] }
    public var count: Int { names.count }
}
