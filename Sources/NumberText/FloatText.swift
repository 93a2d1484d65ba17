import NumberTextKernels

/// The shortest decimal text that reads back as the same Float: the digits `Float.description`
/// prints, in the same format (`0.0001`, `16777216.0`, `1.6969414e+09`, `1e-05`), written
/// straight into a byte buffer.
///
/// The server writes 120 such numbers per `/reconstruct` answer; going through
/// `Float.write(to:)` and a `TextOutputStream` cost more than the digits themselves. This is the
/// Schubfach algorithm (R. Giulietti, "The Schubfach way to render doubles", 2020), binary32
/// variant: three multiplications by a 64-bit approximation of 10⁻ᵏ give the candidates, and
/// the closest shortest one that lies inside the rounding interval wins. Checked against
/// `Float.description` on all 2³² bit patterns (`ae-bench float-text --stride 1`).
public enum FloatText {
    /// The most bytes of text `write` produces (`-1.2345679e-38` is 14; `-0.00012345679` is 14).
    public static let maxLength = 16
    /// The bytes at `out` that `write` may touch: it stores whole 8-byte words, past the text.
    public static let bufferLength = 32

    /// Writes `x`'s text at `out` (`bufferLength` writable bytes) and returns its length.
    /// Non-finite values give `inf`, `-inf` and `nan`, as `description` does.
    @inlinable
    public static func write(_ x: Float, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let bits = x.bitPattern
        var p = 0
        let t = UInt64(bits & 0x7F_FFFF)
        let bq = Int((bits >> 23) & 0xFF)
        if bq == 0xFF { return writeNonFinite(x, to: out) }
        if bits >> 31 != 0 { out[0] = UInt8(ascii: "-"); p = 1 }
        let f: UInt64
        let e: Int
        if bq != 0 {
            let mq = 150 - bq                   // the value is c · 2^-mq
            let c = (1 << 23) | t
            if mq > 0 && mq < 24 && (c >> UInt64(mq)) << UInt64(mq) == c {
                (f, e) = (c >> UInt64(mq), 0)   // a small integer: its own digits
            } else {
                (f, e) = toDecimal(q: -mq, c: c)
            }
        } else if t != 0 {
            // Subnormal. (Java first scales the tiniest by 10, again for two digits.)
            (f, e) = toDecimal(q: -149, c: t)
        } else {
            out[p] = UInt8(ascii: "0"); out[p + 1] = UInt8(ascii: "."); out[p + 2] = UInt8(ascii: "0")
            return p + 3
        }
        return p + format(f, e, exponential: x.magnitude > 16_777_216, to: out + p)
    }

    /// Whether `writeLeading` runs the AVX-512 kernel on this machine (otherwise it writes nothing).
    public static let hasKernel = nk_write_available() != 0

    /// Bytes of room `writeLeading` needs per value.
    public static let leadingBytesPerValue = Int(NK_BYTES_PER_VALUE)

    /// Writes the text of `xs`' leading values, each followed by a comma, eight at a time with
    /// the AVX-512 kernel (`NumberKernels`), the same text `write` gives. It stops at the end or
    /// before the first subnormal or non-finite value, which the caller writes with `write` (or as
    /// it likes), and writes nothing without the kernel. `out` needs `leadingBytesPerValue ×
    /// xs.count` bytes.
    public static func writeLeading(_ xs: UnsafeBufferPointer<Float>, to out: UnsafeMutablePointer<UInt8>) -> (bytes: Int, values: Int) {
        guard hasKernel, let base = xs.baseAddress else { return (0, 0) }
        var values = 0
        let bytes = powersOfTen.withUnsafeBufferPointer { nk_write_list(base, xs.count, $0.baseAddress!, out, &values) }
        return (bytes, values)
    }

    /// Every value's text, each followed by a comma: runs through `writeLeading`, the values it
    /// leaves (all of them without the kernel) through `write`, or as `nonFinite` if they are not
    /// finite and it is given (JSON wants `null`). `out` needs `leadingBytesPerValue × xs.count +
    /// bufferLength` bytes. Returns the bytes written.
    public static func writeList(_ xs: UnsafeBufferPointer<Float>, nonFinite: StaticString? = nil,
                                 to out: UnsafeMutablePointer<UInt8>) -> Int {
        var i = 0, p = 0
        while i < xs.count {
            let run = writeLeading(UnsafeBufferPointer(rebasing: xs[i...]), to: out + p)
            p += run.bytes
            i += run.values
            guard i < xs.count else { break }
            if let text = nonFinite, !xs[i].isFinite {
                (out + p).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
                p += text.utf8CodeUnitCount
            } else {
                p += write(xs[i], to: out + p)
            }
            out[p] = UInt8(ascii: ",")
            p += 1
            i += 1
        }
        return p
    }

    /// `f · 10^e` (trailing zeros in `f` are dropped here), laid out as Swift's `description`
    /// does: exponential below 0.0001 or above 2²⁴, fixed otherwise (with `.0` for integers).
    /// Digits move as whole words (unaligned 8-byte stores), so up to 8 bytes past the text are
    /// written.
    @inlinable
    static func format(_ f: UInt64, _ e: Int, exponential big: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // f < 2²⁴ · 10 has at most 9 digits: a leading one (`top`), then eight converted at
        // once. Both divisions start from f, so neither waits for the other.
        let top = f / 100_000_000
        let high = f / 10_000
        let eight = asciiDigits(high &- top &* 10_000, f &- high &* 10_000)
        let zeros = eight ^ 0x3030_3030_3030_3030                  // a zero byte for each '0'
        let trailing = zeros.leadingZeroBitCount >> 3              // '0's at the end (f ≠ 0)
        let lo: UInt64, ninth: UInt64, n: Int
        if top != 0 {
            lo = (top | 0x30) | eight << 8
            ninth = eight >> 56
            n = 9 &- trailing
        } else {
            let leading = zeros.trailingZeroBitCount >> 3           // '0's in front
            lo = eight >> UInt64(leading << 3)
            ninth = 0
            n = 8 &- leading &- trailing
        }
        let e = e &+ trailing
        let raw = UnsafeMutableRawPointer(out)
        let point = n &+ e                      // the value is 0.d₁d₂…dₙ × 10^point
        if big || point < -3 {                  // d₁.d₂…dₙe±XX
            raw.storeBytes(of: lo, as: UInt64.self)
            var p = 1
            if n > 1 {
                out[1] = UInt8(ascii: ".")
                raw.storeBytes(of: lo >> 8 | ninth << 56, toByteOffset: 2, as: UInt64.self)
                p = n &+ 1
            }
            var x = point &- 1
            out[p] = UInt8(ascii: "e")
            out[p &+ 1] = x < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
            p &+= 2
            x = abs(x)
            if x >= 100 { out[p] = UInt8(truncatingIfNeeded: x / 100) &+ 48; p &+= 1 }
            out[p] = UInt8(truncatingIfNeeded: x / 10 % 10) &+ 48
            out[p &+ 1] = UInt8(truncatingIfNeeded: x % 10) &+ 48
            return p &+ 2
        }
        if point <= 0 {                         // 0.000ddd
            raw.storeBytes(of: 0x3030_3030_302E_30, as: UInt64.self)   // "0.00000"
            let start = 2 &- point
            raw.storeBytes(of: lo, toByteOffset: start, as: UInt64.self)
            out[start &+ 8] = UInt8(truncatingIfNeeded: ninth)
            return start &+ n
        }
        if point < n {                          // ddd.ddd
            raw.storeBytes(of: lo, as: UInt64.self)
            let shift = UInt64(point << 3)      // the digits after the point, moved up by one
            raw.storeBytes(of: lo >> shift | ninth << (64 &- shift), toByteOffset: point &+ 1, as: UInt64.self)
            out[point] = UInt8(ascii: ".")
            return n &+ 1
        }
        raw.storeBytes(of: lo, as: UInt64.self) // ddd000.0 (point ≤ 8: the value is ≤ 2²⁴)
        out[8] = UInt8(truncatingIfNeeded: ninth)
        raw.storeBytes(of: 0x3030_3030_3030_3030, toByteOffset: n, as: UInt64.self)
        out[point] = UInt8(ascii: "."); out[point &+ 1] = UInt8(ascii: "0")
        return point &+ 2
    }

    /// The 8 decimal digits of `high · 10⁴ + low` (both < 10⁴), leading zeros included, as ASCII
    /// bytes with the most significant in the lowest byte: halves, quarters and digits are split
    /// in parallel lanes of one word.
    @inlinable @inline(__always)
    static func asciiDigits(_ high: UInt64, _ low: UInt64) -> UInt64 {
        let x = high | low << 32                                          // two 4-digit lanes
        let y = ((x &* 10_486) >> 20) & 0x0000_007F_0000_007F             // lane / 100, exact below 10⁴
        let x2 = y | (x &- y &* 100) << 16                                // four 2-digit lanes
        let y2 = ((x2 &* 103) >> 10) & 0x000F_000F_000F_000F              // lane / 10, exact below 179
        return (y2 | (x2 &- y2 &* 10) << 8) | 0x3030_3030_3030_3030       // eight digits
    }

    /// The shortest decimal `f · 10^e` in the rounding interval of `c · 2^q`, the closest to it
    /// when two are (Schubfach, section 9 of the paper).
    @inlinable
    static func toDecimal(q: Int, c: UInt64) -> (UInt64, Int) {
        let out = c & 1                          // an odd significand excludes the interval's ends
        let cb = c << 2
        let cbr = cb + 2
        let cbl: UInt64
        let k: Int
        if c != 1 << 23 || q == -149 {
            cbl = cb - 2
            k = (q * 661_971_961_083) >> 41      // ⌊q · log₁₀ 2⌋
        } else {                                 // a power of two: the lower neighbour is closer
            cbl = cb - 1
            k = (q * 661_971_961_083 - 274_743_187_321) >> 41   // ⌊log₁₀(¾ · 2^q)⌋
        }
        let h = q + ((-k * 913_124_641_741) >> 38) + 33         // q + ⌊-k · log₂ 10⌋ + 33
        let g = powersOfTen[k + 45]
        let vb = roundToOdd(g, cb << UInt64(h))
        let vbl = roundToOdd(g, cbl << UInt64(h))
        let vbr = roundToOdd(g, cbr << UInt64(h))
        let s = vb >> 2
        // One digit shorter, if exactly one candidate fits. (Java tries this only for s ≥ 100,
        // as its format wants two digits; the shortest text of a tiny subnormal, 3e-44, has one.)
        let sp10 = 10 * (s / 10)
        let tp10 = sp10 + 10
        let upin = vbl + out <= sp10 << 2
        let wpin = (tp10 << 2) + out <= vbr
        if upin != wpin { return (upin ? sp10 : tp10, k) }
        let t = s + 1
        let uin = vbl + out <= s << 2
        let win = (t << 2) + out <= vbr
        if uin != win { return (uin ? s : t, k) }
        let mid = (s + t) << 1                   // both fit: the closer, ties to even
        return (vb < mid || (vb == mid && s & 1 == 0) ? s : t, k)
    }

    /// ⌊g · cp / 2⁹⁵⌋, with its lowest bit set when the quotient is inexact.
    @inlinable @inline(__always)
    static func roundToOdd(_ g: UInt64, _ cp: UInt64) -> UInt64 {
        let x1 = g.multipliedFullWidth(by: cp).high
        return (x1 >> 31) | (((x1 & 0xFFFF_FFFF) &+ 0xFFFF_FFFF) >> 32)
    }

    @usableFromInline
    static func writeNonFinite(_ x: Float, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let text: StaticString = x.isNaN ? "nan" : x < 0 ? "-inf" : "inf"
        out.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }

    /// g(k) = ⌊10⁻ᵏ · 2^(62 − ⌊−k · log₂ 10⌋)⌋ + 1 for k in −45…31, every k a Float needs:
    /// 10⁻ᵏ to 63 bits, rounded up (the paper's g₁ + 1). Generated with exact rationals. The
    /// AVX-512 kernel reads this same table (`nk_write_list` takes it).
    @usableFromInline
    static let powersOfTen: [UInt64] = [
        0x59AEDFC10D7279C6, 0x47BF19673DF52E38, 0x72CB5BD86321E38D,
        0x5BD5E313828182D7, 0x4977E8DC68679BE0, 0x758CA7C70D7292FF,
        0x5E0A1FD271287599, 0x4B3B4CA85A86C47B, 0x785EE10D5DA46D91,
        0x604BE73DE4838ADA, 0x4D0985CB1D3608AF, 0x7B426FAB61F00DE4,
        0x629B8C891B267183, 0x4EE2D6D415B85ACF, 0x7E37BE2022C0914C,
        0x64F964E68233A770, 0x50C783EB9B5C85F3, 0x409F9CBC7C4A04C3,
        0x6765C793FA10079E, 0x52B7D2DCC80CD2E5, 0x422CA8B0A00A4251,
        0x69E10DE76676D081, 0x54B40B1F852BDA01, 0x43C33C1937564801,
        0x6C6B935B8BBD4001, 0x56BC75E2D6310001, 0x4563918244F40001,
        0x6F05B59D3B200001, 0x58D15E1762800001, 0x470DE4DF82000001,
        0x71AFD498D0000001, 0x5AF3107A40000001, 0x48C2739500000001,
        0x746A528800000001, 0x5D21DBA000000001, 0x4A817C8000000001,
        0x7735940000000001, 0x5F5E100000000001, 0x4C4B400000000001,
        0x7A12000000000001, 0x61A8000000000001, 0x4E20000000000001,
        0x7D00000000000001, 0x6400000000000001, 0x5000000000000001,
        0x4000000000000001, 0x6666666666666667, 0x51EB851EB851EB86,
        0x4189374BC6A7EF9E, 0x68DB8BAC710CB296, 0x53E2D6238DA3C212,
        0x431BDE82D7B634DB, 0x6B5FCA6AF2BD215F, 0x55E63B88C230E77F,
        0x44B82FA09B5A52CC, 0x6DF37F675EF6EAE0, 0x57F5FF85E5925580,
        0x465E6604B7A84466, 0x709709A125DA070A, 0x5A126E1A84AE6C08,
        0x480EBE7B9D58566D, 0x734ACA5F6226F0AE, 0x5C3BD5191B525A25,
        0x49C97747490EAE84, 0x760F253EDB4AB0D3, 0x5E72843249088D76,
        0x4B8ED0283A6D3DF8, 0x78E480405D7B9659, 0x60B6CD004AC94514,
        0x4D5F0A66A23A9DAA, 0x7BCB43D769F762A9, 0x63090312BB2C4EEE,
        0x4F3A68DBC8F03F25, 0x7EC3DAF941806507, 0x65697BFA9ACD1DA0,
        0x51212FFBAF0A7E19, 0x40E7599625A1FE7B
    ]
}
