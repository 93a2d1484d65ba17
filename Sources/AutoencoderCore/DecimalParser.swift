#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Strict, allocation-free parsing of one decimal number from UTF-8 bytes.
///
/// The grammar is JSON's number grammar plus an optional leading `+` and leading-dot or
/// trailing-dot forms that CSV writers produce (`.5`, `5.`). Hex, `nan`, `inf`, spaces and
/// anything else are refused, so the caller can report the cell. The common case (at most
/// 19 significant digits, a value exactly representable as mantissa × 10^±22) is converted
/// exactly without libc; the rest goes to `strtod`, which rounds correctly. `strtod` only
/// ever sees a token whose characters were checked here, and it stops at the first byte
/// after it, so the buffer needs no NUL as long as a non-number byte follows the token.
public enum DecimalParser {
    public enum Result: Equatable {
        case value(Double)
        case notNumeric
        case nonFinite
    }

    /// Parses `bytes[start..<end]`. The byte at `end` must be readable (a separator or sentinel).
    @inlinable
    public static func parse(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Result {
        var i = start
        if i == end { return .notNumeric }
        var negative = false
        if base[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if base[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0          // significant digits read into mantissa (leading zeros skipped)
        var exponent = 0
        let intStart = i
        while i < end, base[i] == UInt8(ascii: "0") { i += 1 }
        while i < end, base[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(base[i] &- 48); digits += 1; i += 1 }
        var sawDigit = i > intStart
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            if digits == 0 { while i < end, base[i] == UInt8(ascii: "0") { i += 1 } }
            let significantStart = i
            while i + 8 <= end, let chunk = eightDigits(base + i) { mantissa = mantissa &* 100_000_000 &+ chunk; i += 8 }
            while i < end, base[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(base[i] &- 48); i += 1 }
            digits += i - significantStart
            exponent -= i - fracStart
            sawDigit = sawDigit || i > fracStart
        }
        if !sawDigit { return classifyWord(base, start, end) }
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < end, base[i] == UInt8(ascii: "-") { expNegative = true; i += 1 } else if i < end, base[i] == UInt8(ascii: "+") { i += 1 }
            var e = 0
            let expStart = i
            while i < end, base[i] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(base[i] &- 48) }
                i += 1
            }
            if i == expStart { return .notNumeric }
            exponent += expNegative ? -e : e
        }
        if i != end { return .notNumeric }
        if digits <= 19, let v = exactValue(mantissa, exponent) { return .value(negative ? -v : v) }
        let v = strtod(UnsafeRawPointer(base + start).assumingMemoryBound(to: CChar.self), nil)
        return v.isFinite ? .value(v) : .nonFinite
    }

    /// `m × 10^e` correctly rounded, when that takes no big-number arithmetic; nil otherwise
    /// (the caller then asks `strtod`). `m` holds at most 19 significant digits.
    @inlinable
    public static func exactValue(_ m: UInt64, _ e: Int) -> Double? {
        if m == 0 { return 0 }
        // Clinger's fast path: m and 10^|e| are both exact doubles, so one IEEE operation
        // rounds the exact result once.
        if m <= 1 << 53, e >= -22, e <= 22 {
            let x = Double(m)
            return e >= 0 ? x * exactPowersOfTen[e] : x / exactPowersOfTen[-e]
        }
        #if arch(x86_64)
        if e >= -27, e <= 27 { return extendedPath(m, e) }
        #endif
        return nil
    }

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
    @usableFromInline static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    #if arch(x86_64)
    /// 10⁰…10²⁷, all exact in 64 bits of significand (5²⁷ < 2⁶⁴).
    @usableFromInline static let extendedPowers: [Float80] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27,
    ]

    /// m × 10^e through x87 extended precision: m (< 2⁶⁴) and 10^|e| (|e| ≤ 27, 5²⁷ < 2⁶⁴) are
    /// exact, so the product or quotient is correctly rounded to 64 bits. Rounding that to 53
    /// bits is then correct unless the 64-bit result lies within one unit of a halfway point
    /// between two doubles (its 11 extra bits near 0x400); those rare cases return nil and go
    /// to `strtod`. Typical CSV numbers (16–17 significant digits) take this path.
    @inlinable
    static func extendedPath(_ m: UInt64, _ e: Int) -> Double? {
        let x = Float80(m)
        let r = e >= 0 ? x * extendedPowers[e] : x / extendedPowers[-e]
        let low = r.significandBitPattern & 0x7FF
        if low >= 0x3FF && low <= 0x401 { return nil }
        let d = Double(r)
        return d.isFinite ? d : nil
    }
    #endif

    @usableFromInline
    static func classifyWord(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Result {
        var s = start
        if s < end, base[s] == UInt8(ascii: "-") || base[s] == UInt8(ascii: "+") { s += 1 }
        var word = ""
        for k in s..<end { word.append(Character(Unicode.Scalar(base[k] | 0x20))) }
        return ["nan", "inf", "infinity"].contains(word) ? .nonFinite : .notNumeric
    }

    /// Convenience for tests and small inputs.
    public static func parse(_ text: String) -> Result {
        var bytes = Array(text.utf8)
        let count = bytes.count
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { parse($0.baseAddress!, 0, count) }
    }
}
