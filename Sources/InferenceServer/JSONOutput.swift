/// Appends JSON straight into a byte buffer: no encoder, no intermediate strings. As a
/// `TextOutputStream` with `_writeASCII`, it receives `Float.write(to:)`'s digits directly from
/// the standard library's shortest-round-trip formatter, without a String per number.
struct JSONOutput: TextOutputStream {
    var bytes: [UInt8] = []

    init(capacity: Int = 2048) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) mutating func byte(_ b: UInt8) { bytes.append(b) }

    mutating func write(_ string: String) { bytes.append(contentsOf: string.utf8) }
    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) { bytes.append(contentsOf: buffer) }

    /// A Float's shortest round-trip text (the value the model computed, no more digits).
    @inline(__always) mutating func number(_ x: Float) {
        if x.isFinite { x.write(to: &self) } else { raw("null") }
    }

    @inline(__always) mutating func number(_ x: Double) {
        if x.isFinite { x.write(to: &self) } else { raw("null") }
    }

    mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(hex[Int(b >> 4)]); bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func floats(_ p: UnsafeBufferPointer<Float>) {
        byte(UInt8(ascii: "["))
        for (i, x) in p.enumerated() {
            if i > 0 { byte(UInt8(ascii: ",")) }
            number(x)
        }
        byte(UInt8(ascii: "]"))
    }

    static func error(_ message: String) -> [UInt8] {
        var o = JSONOutput(capacity: message.utf8.count + 16)
        o.raw("{\"error\":")
        o.string(message)
        o.raw("}")
        return o.bytes
    }
}
