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

    @usableFromInline static let exactPowers: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// Parses `bytes[start..<end]`. The byte at `end` must be readable (a separator or sentinel).
    @inlinable
    public static func parse(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Result {
        var i = start
        if i == end { return .notNumeric }
        var negative = false
        if base[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if base[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0          // significant digits taken into mantissa
        var dropped = false     // more than 19 significant digits
        var exponent = 0
        var sawDigit = false
        while i < end, base[i] &- 48 < 10 {
            let d = UInt64(base[i] &- 48)
            sawDigit = true
            if digits < 19 {
                if mantissa != 0 || d != 0 { mantissa = mantissa &* 10 &+ d; digits += mantissa == 0 ? 0 : 1 }
            } else { exponent += 1; dropped = dropped || d != 0 }
            i += 1
        }
        if i < end, base[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, base[i] &- 48 < 10 {
                let d = UInt64(base[i] &- 48)
                sawDigit = true
                if digits < 19 {
                    if mantissa != 0 || d != 0 { mantissa = mantissa &* 10 &+ d; digits += mantissa == 0 ? 0 : 1 }
                    exponent -= 1
                } else { dropped = dropped || d != 0 }
                i += 1
            }
        }
        if !sawDigit { return classifyWord(base, start, end) }
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            var expNegative = false
            if i < end, base[i] == UInt8(ascii: "-") { expNegative = true; i += 1 } else if i < end, base[i] == UInt8(ascii: "+") { i += 1 }
            var e = 0
            var expDigits = 0
            while i < end, base[i] &- 48 < 10 {
                if e < 100_000 { e = e * 10 + Int(base[i] &- 48) }
                expDigits += 1
                i += 1
            }
            if expDigits == 0 { return .notNumeric }
            exponent += expNegative ? -e : e
        }
        if i != end { return .notNumeric }
        if mantissa == 0 && !dropped { return .value(negative ? -0.0 : 0.0) }
        if !dropped, mantissa <= (1 << 53), exponent >= -22, exponent <= 22 {
            let m = Double(mantissa)
            let v = exponent >= 0 ? m * exactPowers[exponent] : m / exactPowers[-exponent]
            return .value(negative ? -v : v)
        }
        #if arch(x86_64)
        if !dropped, exponent >= -27, exponent <= 27, let v = extendedPath(mantissa, exponent) {
            return .value(negative ? -v : v)
        }
        #endif
        let v = strtod(UnsafeRawPointer(base + start).assumingMemoryBound(to: CChar.self), nil)
        return v.isFinite ? .value(v) : .nonFinite
    }

    #if arch(x86_64)
    @usableFromInline static let extendedPowers: [Float80] = (0...27).map { k in (0..<k).reduce(Float80(1)) { p, _ in p * 10 } }

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
