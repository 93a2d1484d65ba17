/// The bearer tokens that `/encode`, `/reconstruct`, `/model` (and, with `auth_metrics`,
/// `/metrics`) require; with none configured, auth is off.
struct BearerAuth: Sendable {
    let tokens: [[UInt8]]

    init(tokens: [String]) { self.tokens = tokens.map { Array($0.utf8) } }

    /// Whether a request with this `Authorization` header may pass: auth is off, or the header is
    /// `Bearer <one of our tokens>` (the scheme in any case). Every token is compared, each in
    /// constant time. The header is read with its length: a NUL inside it is refused, not taken
    /// as its end.
    func permits(_ header: UnsafeRawBufferPointer?) -> Bool {
        if tokens.isEmpty { return true }
        guard let header else { return false }
        let value = Array(header)
        let prefix = Array("Bearer ".utf8)
        guard value.count > prefix.count, !value.contains(0),
              value[0..<prefix.count].map({ $0 | 0x20 }) == prefix.map({ $0 | 0x20 }) else { return false }
        let presented = Array(value[prefix.count...])
        var ok = false
        for t in tokens { ok = Self.constantTimeEqual(presented, t) || ok }
        return ok
    }

    /// Whether a and b are equal, in time that depends on their lengths only, not on where they
    /// differ. Lengths are compared whole (folding their difference into a byte would let
    /// lengths 256 apart pass as equal).
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff: UInt8 = 0
        let n = max(a.count, b.count)
        for i in 0..<n { diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0) }
        return diff == 0 && a.count == b.count
    }
}
