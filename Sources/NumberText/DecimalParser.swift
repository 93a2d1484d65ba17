import NumberTextKernels
import Glibc

/// Strict, allocation-free parsing of decimal numbers from UTF-8 bytes: the one number grammar
/// of the product, in its two dialects (`Grammar`).
///
/// The common case (at most 19 significant digits, a decimal exponent within ±27) is rounded
/// correctly without libc (`exactValue`); the rest goes to `strtod`, which rounds correctly too.
/// `strtod` only ever sees a token whose characters were checked here, and it stops at the first
/// byte after it, so the buffer needs no NUL as long as a non-number byte follows the token.
public enum DecimalParser {
    public enum Result: Equatable {
        case value(Double)
        case notNumeric
        case nonFinite
    }

    /// Where a number comes from, which decides what counts as one.
    public enum Grammar: Sendable {
        /// RFC 8259: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. The token ends where the
        /// grammar does; what follows is the caller's (a JSON body's `,`, `]` or `}`).
        case json
        /// JSON's, plus the forms CSV writers produce: a leading `+`, leading zeros, `.5`, `5.`.
        /// The token must fill the cell; `nan`, `inf` and `infinity` (any case, signed) are
        /// `nonFinite`. Hex, spaces and anything else are refused, so the caller can report the cell.
        case csv
    }

    /// One CSV cell, `bytes[start..<end]`. The byte at `end` must be readable (a separator or
    /// sentinel).
    @inlinable
    public static func parse(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Result {
        let (result, next) = scan(base, start, end, .csv)
        return next == end ? result : .notNumeric
    }

    /// A number at `base[start...]`, not read past `end`: its value, and the index after it.
    /// `notNumeric` with `next == start` when no number starts there; with `next > start`, a
    /// number that started but is malformed (`1.`, `1e+`) and where it went wrong. `nonFinite`:
    /// a number too large for a Double (or, in CSV, a NaN or infinity word).
    @inlinable @inline(__always)
    public static func scan(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int,
                            _ grammar: Grammar) -> (result: Result, next: Int) {
        var i = start
        var negative = false
        if i < end, base[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        else if grammar == .csv, i < end, base[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0          // significant digits read into mantissa (leading zeros skipped)
        var exponent = 0
        let intStart = i
        if grammar == .json {
            guard i < end, base[i] &- 48 < 10 else { return (.notNumeric, start) }
            if base[i] == UInt8(ascii: "0") { i += 1 }   // a lone 0: JSON has no leading zeros
        } else {
            while i < end, base[i] == UInt8(ascii: "0") { i += 1 }
        }
        let significantInt = i
        if grammar == .csv || i == intStart {   // (in JSON, no digit follows a leading 0)
            while i + 8 <= end, let chunk = eightDigits(base + i) { mantissa = mantissa &* 100_000_000 &+ chunk; i += 8 }
            while i < end, base[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(base[i] &- 48); i += 1 }
        }
        digits = i - significantInt
        var sawDigit = i > intStart
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            if digits == 0 { while i < end, base[i] == UInt8(ascii: "0") { i += 1 } }
            let significantStart = i
            while i + 8 <= end, let chunk = eightDigits(base + i) { mantissa = mantissa &* 100_000_000 &+ chunk; i += 8 }
            if i + 4 <= end, let chunk = fourDigits(base + i) { mantissa = mantissa &* 10_000 &+ chunk; i += 4 }
            while i < end, base[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(base[i] &- 48); i += 1 }
            if grammar == .json, i == fracStart { return (.notNumeric, i) }
            digits += i - significantStart
            exponent -= i - fracStart
            sawDigit = sawDigit || i > fracStart
        }
        if !sawDigit { return (classifyWord(base, start, end), end) }   // (CSV only: JSON has a digit)
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < end, base[i] == UInt8(ascii: "-") { expNegative = true; i += 1 } else if i < end, base[i] == UInt8(ascii: "+") { i += 1 }
            var e = 0
            let expStart = i
            while i < end, base[i] &- 48 < 10 {
                if e < 100_000 { e = e &* 10 &+ Int(base[i] &- 48) }
                i += 1
            }
            if i == expStart { return (.notNumeric, i) }
            exponent += expNegative ? -e : e
        }
        if grammar == .csv, i != end { return (.notNumeric, i) }
        if digits <= 19, let v = exactValue(mantissa, exponent) { return (.value(negative ? -v : v), i) }
        let v = strtod(UnsafeRawPointer(base + start).assumingMemoryBound(to: CChar.self), nil)
        return (v.isFinite ? .value(v) : .nonFinite, i)
    }

    /// `m × 10^e` correctly rounded, when that takes no big-number arithmetic; nil otherwise
    /// (the caller then asks `strtod`). `m` holds at most 19 significant digits.
    ///
    /// Not inlinable, on purpose: compiled here, its tables are static data; inlined into
    /// another module, every read of them went through a lazy initializer's check.
    public static func exactValue(_ m: UInt64, _ e: Int) -> Double? {
        if m == 0 { return 0 }
        // Clinger's fast path: m and 10^|e| are both exact doubles, so one IEEE operation
        // rounds the exact result once.
        if m <= 1 << 53, e >= -22, e <= 22 {
            let x = Double(m)
            return e >= 0 ? x * exactPowersOfTen[e] : x / exactPowersOfTen[-e]
        }
        if e >= -27, e <= 27 { return eiselLemire(m, e) }
        return nil
    }

    /// `w × 10^q` for |q| ≤ 27 by the Eisel–Lemire algorithm (D. Lemire, "Number Parsing at a
    /// Gigabyte per Second", 2021): one or two 64×64-bit products with a 128-bit truncation
    /// of 5^q give the 54 leading bits of the result and whether it could be a tie. This is
    /// where the typical 16–17 digit numbers of a CSV or a JSON body go. nil (for `strtod`) in
    /// the one case the truncation leaves undecided.
    static func eiselLemire(_ w: UInt64, _ q: Int) -> Double? {
        let lz = w.leadingZeroBitCount
        let wn = w << UInt64(lz)                                       // w normalized: top bit set
        let i = 2 &* (q &+ 27)
        var (high, low) = wn.multipliedFullWidth(by: powersOfFive[i])
        if high & 0x1FF == 0x1FF {                                     // the 9 bits below the result's 55 may carry
            let refinement = wn.multipliedFullWidth(by: powersOfFive[i &+ 1]).high
            let (sum, carry) = low.addingReportingOverflow(refinement)
            low = sum
            if carry { high &+= 1 }
            if high & 0x1FF == 0x1FF && low == .max { return nil }
        }
        let upper = Int(high >> 63)
        let shift = UInt64(upper &+ 9)
        var mantissa = high >> shift                                   // 54 bits
        // 2^exponent: ⌊q · log₂ 10⌋ + 63 (217706 / 2¹⁶ ≈ log₂ 10), plus the IEEE bias.
        var exponent = ((217_706 &* q) >> 16) &+ 63 &+ upper &- lz &+ 1023
        // Exactly halfway between two doubles (only possible for -4 ≤ q ≤ 23): to even.
        if low <= 1, q >= -4, q <= 23, mantissa & 3 == 1, mantissa << shift == high { mantissa &= ~1 }
        mantissa &+= mantissa & 1
        mantissa >>= 1
        if mantissa >= 1 << 53 { mantissa = 1 << 52; exponent &+= 1 }
        return Double(bitPattern: (mantissa & ~(1 << 52)) | UInt64(exponent) << 52)
    }

    /// 5^q for q in −27…27, normalized to 128 bits (high word, low word): truncated for q ≥ 0,
    /// ⌊2^(127 + ⌈log₂ 5^−q⌉) / 5^−q⌋ + 1 for q < 0. Generated with exact integers.
    static let powersOfFive: [UInt64] = [
        0x9E74D1B791E07E48, 0x775EA264CF55347E,   // 5^-27
        0xC612062576589DDA, 0x95364AFE032A819E,   // 5^-26
        0xF79687AED3EEC551, 0x3A83DDBD83F52205,   // 5^-25
        0x9ABE14CD44753B52, 0xC4926A9672793543,   // 5^-24
        0xC16D9A0095928A27, 0x75B7053C0F178294,   // 5^-23
        0xF1C90080BAF72CB1, 0x5324C68B12DD6339,   // 5^-22
        0x971DA05074DA7BEE, 0xD3F6FC16EBCA5E04,   // 5^-21
        0xBCE5086492111AEA, 0x88F4BB1CA6BCF585,   // 5^-20
        0xEC1E4A7DB69561A5, 0x2B31E9E3D06C32E6,   // 5^-19
        0x9392EE8E921D5D07, 0x3AFF322E62439FD0,   // 5^-18
        0xB877AA3236A4B449, 0x09BEFEB9FAD487C3,   // 5^-17
        0xE69594BEC44DE15B, 0x4C2EBE687989A9B4,   // 5^-16
        0x901D7CF73AB0ACD9, 0x0F9D37014BF60A11,   // 5^-15
        0xB424DC35095CD80F, 0x538484C19EF38C95,   // 5^-14
        0xE12E13424BB40E13, 0x2865A5F206B06FBA,   // 5^-13
        0x8CBCCC096F5088CB, 0xF93F87B7442E45D4,   // 5^-12
        0xAFEBFF0BCB24AAFE, 0xF78F69A51539D749,   // 5^-11
        0xDBE6FECEBDEDD5BE, 0xB573440E5A884D1C,   // 5^-10
        0x89705F4136B4A597, 0x31680A88F8953031,   // 5^-9
        0xABCC77118461CEFC, 0xFDC20D2B36BA7C3E,   // 5^-8
        0xD6BF94D5E57A42BC, 0x3D32907604691B4D,   // 5^-7
        0x8637BD05AF6C69B5, 0xA63F9A49C2C1B110,   // 5^-6
        0xA7C5AC471B478423, 0x0FCF80DC33721D54,   // 5^-5
        0xD1B71758E219652B, 0xD3C36113404EA4A9,   // 5^-4
        0x83126E978D4FDF3B, 0x645A1CAC083126EA,   // 5^-3
        0xA3D70A3D70A3D70A, 0x3D70A3D70A3D70A4,   // 5^-2
        0xCCCCCCCCCCCCCCCC, 0xCCCCCCCCCCCCCCCD,   // 5^-1
        0x8000000000000000, 0x0000000000000000,   // 5^0
        0xA000000000000000, 0x0000000000000000,   // 5^1
        0xC800000000000000, 0x0000000000000000,   // 5^2
        0xFA00000000000000, 0x0000000000000000,   // 5^3
        0x9C40000000000000, 0x0000000000000000,   // 5^4
        0xC350000000000000, 0x0000000000000000,   // 5^5
        0xF424000000000000, 0x0000000000000000,   // 5^6
        0x9896800000000000, 0x0000000000000000,   // 5^7
        0xBEBC200000000000, 0x0000000000000000,   // 5^8
        0xEE6B280000000000, 0x0000000000000000,   // 5^9
        0x9502F90000000000, 0x0000000000000000,   // 5^10
        0xBA43B74000000000, 0x0000000000000000,   // 5^11
        0xE8D4A51000000000, 0x0000000000000000,   // 5^12
        0x9184E72A00000000, 0x0000000000000000,   // 5^13
        0xB5E620F480000000, 0x0000000000000000,   // 5^14
        0xE35FA931A0000000, 0x0000000000000000,   // 5^15
        0x8E1BC9BF04000000, 0x0000000000000000,   // 5^16
        0xB1A2BC2EC5000000, 0x0000000000000000,   // 5^17
        0xDE0B6B3A76400000, 0x0000000000000000,   // 5^18
        0x8AC7230489E80000, 0x0000000000000000,   // 5^19
        0xAD78EBC5AC620000, 0x0000000000000000,   // 5^20
        0xD8D726B7177A8000, 0x0000000000000000,   // 5^21
        0x878678326EAC9000, 0x0000000000000000,   // 5^22
        0xA968163F0A57B400, 0x0000000000000000,   // 5^23
        0xD3C21BCECCEDA100, 0x0000000000000000,   // 5^24
        0x84595161401484A0, 0x0000000000000000,   // 5^25
        0xA56FA5B99019A5C8, 0x0000000000000000,   // 5^26
        0xCECB8F27F4200F3A, 0x0000000000000000,   // 5^27
    ]

    /// The value of 8 ASCII digits at `p` (`"12345678"` → 12345678), or nil if any byte is not
    /// a digit. Reads 8 bytes: the caller checks they are in bounds. (SWAR: all 8 at once.)
    @inlinable @inline(__always)
    public static func eightDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let v = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        // Every byte in 0x30...0x39: high nibble 3, and adding 6 does not carry into it.
        guard (v & 0xF0F0_F0F0_F0F0_F0F0) | (((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4) == 0x3333_3333_3333_3333 else { return nil }
        var x = v &- 0x3030_3030_3030_3030
        x = (x &* 10) &+ (x >> 8)   // pairs of digits
        x = (((x & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32)))
            &+ (((x >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32)))) >> 32
        return x
    }

    /// The value of 4 ASCII digits at `p`, or nil if any byte is not a digit (4 bytes read).
    @inlinable @inline(__always)
    public static func fourDigits(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let v = UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
        guard (v & 0xF0F0_F0F0) | (((v &+ 0x0606_0606) & 0xF0F0_F0F0) >> 4) == 0x3333_3333 else { return nil }
        let x = (v &- 0x3030_3030) &* 10 &+ ((v &- 0x3030_3030) >> 8)   // bytes 0 and 2: digit pairs
        return UInt64(x & 0xFF) &* 100 &+ UInt64((x >> 16) & 0xFF)
    }

    /// 10⁰…10²², all exact doubles. (A literal, so no lazy initialization on the hot path.)
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]


    @usableFromInline
    static func classifyWord(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Result {
        var s = start
        if s < end, base[s] == UInt8(ascii: "-") || base[s] == UInt8(ascii: "+") { s += 1 }
        var word = ""
        for k in s..<end { word.append(Character(Unicode.Scalar(base[k] | 0x20))) }
        return ["nan", "inf", "infinity"].contains(word) ? .nonFinite : .notNumeric
    }

    /// Whether `parseLeading` runs the AVX-512 kernel on this machine (otherwise it reads nothing).
    public static let hasKernel = nk_scan_available() != 0

    /// Reads the leading elements of a JSON array's remainder at `base[0..<count]`, each
    /// `whitespace* number whitespace* ,` with a plain decimal number (no exponent, at most 19
    /// digits), into `out`: the values `parse` gives. The kernel (`NumberKernels`) finds the digits
    /// without a loop per byte and rounds eight numbers at a time as `eiselLemire` does; the few
    /// (about 1 in 500) that need its second product it leaves to `exactValue` here. It stops
    /// before the first element that is anything else, which the caller parses and, if it must,
    /// reports (so the last element, before `]`, is always the caller's), or after `max`. Returns
    /// the values read and the bytes they took (through the last comma).
    public static func parseLeading(_ base: UnsafePointer<UInt8>, count: Int, max: Int,
                                    into out: UnsafeMutablePointer<Double>) -> (values: Int, bytes: Int) {
        guard hasKernel else { return (0, 0) }
        let chunk = 64
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 2 * chunk) { scratch in
            powersOfFive.withUnsafeBufferPointer { powers in
                let mantissas = scratch.baseAddress!, infos = mantissas + chunk
                var values = 0, bytes = 0
                while values < max {
                    var consumed = 0, left = 0
                    let wanted = Swift.min(chunk, max - values)
                    let n = nk_scan_decimals(base + bytes, count - bytes, wanted, powers.baseAddress!, out + values,
                                             mantissas, infos, &consumed, &left)
                    if left > 0 {
                        for j in 0..<n where infos[j] & UInt64(NK_INFO_LEFT) != 0 {
                            out[values + j] = leftValue(base + bytes, mantissas[j], infos[j])
                        }
                    }
                    values += n
                    bytes += consumed
                    if n < wanted { break }
                }
                return (values, bytes)
            }
        }
    }

    /// An element `nk_scan_decimals` read but did not round: `exactValue`, or `strtod` in its one
    /// undecided case.
    private static func leftValue(_ base: UnsafePointer<UInt8>, _ mantissa: UInt64, _ info: UInt64) -> Double {
        if let v = exactValue(mantissa, -Int(info & UInt64(NK_INFO_FRACTION_DIGITS))) {
            return info & UInt64(NK_INFO_NEGATIVE) != 0 ? -v : v
        }
        let start = Int(truncatingIfNeeded: info >> UInt64(NK_INFO_START_SHIFT))
        let length = Int(truncatingIfNeeded: (info >> UInt64(NK_INFO_LENGTH_SHIFT)) & 0xFFFF)
        guard case .value(let v) = parse(base, start, start + length) else {   // (a comma follows it)
            preconditionFailure("a decimal the kernel read was refused by parse")
        }
        return v
    }

    /// Convenience for tests and small inputs.
    public static func parse(_ text: String) -> Result {
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { parse($0.baseAddress!, 0, count) }
    }
}
