/// A model's name in a repository: its file name without `.safetensors`, and the `{name}` of
/// `/v1/models/{name}/…`. Restricted so that it is safe in a path, a log line and a metric label.
enum ModelName {
    static let maxLength = 64

    /// `[A-Za-z0-9_.-]{1,64}`, and not `.` or `..`.
    static func isValid<S: StringProtocol>(_ name: S) -> Bool {
        let u = name.utf8
        guard (1...maxLength).contains(u.count), name != ".", name != ".." else { return false }
        return u.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }
}
