import AutoencoderCore
import Glibc
import NumberText

/// A response body under construction: JSON appended straight into one growable byte buffer,
/// with no encoder and no intermediate strings. Each worker thread reuses its own across
/// requests, so answering allocates nothing.
///
/// Numbers are written by `FloatText`, straight into the buffer. One request owns a buffer at a
/// time.
final class JSONOutput: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    func reset() { count = 0 }

    /// Empties the buffer and gives back memory past `limit` bytes (after a big batch's answer).
    func shrink(above limit: Int) {
        count = 0
        guard capacity > limit else { return }
        base.deallocate()
        capacity = 4096
        base = .allocate(capacity: capacity)
    }

    /// Room for `extra` more bytes.
    @inline(__always) func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = c
    }

    @inline(__always) func append(_ p: UnsafePointer<UInt8>, _ n: Int) {
        reserve(n)
        (base + count).update(from: p, count: n)
        count += n
    }

    @inline(__always) func raw(_ s: StaticString) { append(s.utf8Start, s.utf8CodeUnitCount) }

    @inline(__always) func raw(_ b: [UInt8]) { b.withUnsafeBufferPointer { append($0.baseAddress!, $0.count) } }

    @inline(__always) func byte(_ b: UInt8) {
        reserve(1)
        base[count] = b
        count += 1
    }

    /// A Float's shortest round-trip text (the value the model computed, no more digits).
    @inline(__always) func number(_ x: Float) {
        guard x.isFinite else { return raw("null") }
        reserve(FloatText.bufferLength)
        count &+= FloatText.write(x, to: base + count)
    }

    func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    /// A non-negative integer's decimal digits (counts and sizes).
    func integer(_ n: Int) {
        precondition(n >= 0)
        var digits: [UInt8] = []
        var v = n
        repeat { digits.append(UInt8(ascii: "0") + UInt8(v % 10)); v /= 10 } while v > 0
        raw(digits.reversed())
    }

    /// A JSON string literal, quoted and escaped.
    func string(_ s: String) { raw(Self.quoted(s)) }

    /// `s` as a JSON string literal: built once for names that go into every answer.
    static func quoted(_ s: String) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += Array(#"\""#.utf8)
            case UInt8(ascii: "\\"): out += Array(#"\\"#.utf8)
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0..<0x20: out += Array(#"\u00"#.utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    /// A JSON array of numbers (`FloatText.writeList`: eight at a time where the CPU has AVX-512;
    /// non-finite values as `null`).
    func floats(_ p: UnsafeBufferPointer<Float>) {
        reserve(p.count * FloatText.leadingBytesPerValue + FloatText.bufferLength + 1)
        base[count] = UInt8(ascii: "[")
        count += 1
        count += FloatText.writeList(p, nonFinite: "null", to: base + count)
        if !p.isEmpty { count -= 1 }   // the last comma
        byte(UInt8(ascii: "]"))
    }

    /// Numbers each followed by a comma, no brackets: pieces of one flat JSON array written
    /// from several buffers (`dropLastComma` ends it).
    func floatItems(_ p: UnsafeBufferPointer<Float>) {
        reserve(p.count * FloatText.leadingBytesPerValue + FloatText.bufferLength)
        count += FloatText.writeList(p, nonFinite: "null", to: base + count)
    }

    /// Takes back the comma after a list's last item.
    func dropLastComma() {
        if count > 0, base[count - 1] == UInt8(ascii: ",") { count -= 1 }
    }

    /// `{"error": message}`.
    func error(_ message: String) {
        raw("{\"error\":")
        string(message)
        raw("}")
    }
}

/// JSON string literals built once (a model's name, its feature names) in memory this object
/// owns: writing one into an answer reads plain bytes and takes no reference count on a shared
/// array.
final class QuotedStrings: @unchecked Sendable {   // immutable after init
    private let bytes: UnsafeMutablePointer<UInt8>
    private let offsets: UnsafeMutablePointer<Int>
    let count: Int

    init(_ strings: [String]) {
        let quoted = strings.map(JSONOutput.quoted)
        let all = quoted.flatMap { $0 }
        bytes = .allocate(capacity: max(all.count, 1))
        bytes.initialize(from: all, count: all.count)
        offsets = .allocate(capacity: quoted.count + 1)
        offsets[0] = 0
        for (k, q) in quoted.enumerated() { offsets[k + 1] = offsets[k] + q.count }
        count = strings.count
    }

    deinit {
        bytes.deallocate()
        offsets.deallocate()
    }

    /// Appends string `k`, quoted and escaped, to `out`.
    @inline(__always) func write(_ k: Int, to out: JSONOutput) {
        out.append(bytes + offsets[k], offsets[k + 1] - offsets[k])
    }
}
