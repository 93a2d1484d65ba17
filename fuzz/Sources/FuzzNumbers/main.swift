import Glibc
import NumberText

/// Any bytes as number text, in both of `DecimalParser`'s dialects. Never a crash or a read past
/// the end, and every number it accepts is the one `strtod` reads from the same token: a JSON
/// token matches RFC 8259's grammar (checked here by a plain, separate reading of it), and the
/// dialects agree wherever both accept the whole input.

/// RFC 8259's number grammar, written out plainly: the length of the number at the start of `b`
/// (0: none), or nil if one starts but is malformed.
func jsonNumberLength(_ b: [UInt8]) -> Int? {
    func digit(_ i: Int) -> Bool { i < b.count && b[i] >= 48 && b[i] <= 57 }
    var i = 0
    if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
    guard digit(i) else { return 0 }
    if b[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
    if i < b.count, b[i] == UInt8(ascii: ".") {
        i += 1
        guard digit(i) else { return nil }
        while digit(i) { i += 1 }
    }
    if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
        i += 1
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        guard digit(i) else { return nil }
        while digit(i) { i += 1 }
    }
    return i
}

func strtodValue(_ token: ArraySlice<UInt8>) -> Double {
    var text = Array(token)
    text.append(0)
    return text.withUnsafeBufferPointer { strtod(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), nil) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // An exact-size copy with one sentinel byte (a separator, as CSV cells and bodies have):
    // AddressSanitizer reports any read past it.
    var padded = bytes
    padded.append(UInt8(ascii: ","))
    let (json, next) = padded.withUnsafeBufferPointer { DecimalParser.scan($0.baseAddress!, 0, size, .json) }
    let reference = jsonNumberLength(bytes)
    switch json {
    case .value(let v):
        precondition(reference == next, "JSON token length \(next), grammar says \(String(describing: reference))")
        precondition(v.bitPattern == strtodValue(bytes[0..<next]).bitPattern, "JSON value differs from strtod")
    case .nonFinite:
        precondition(reference == next && !strtodValue(bytes[0..<next]).isFinite, "JSON nonFinite on a finite token")
    case .notNumeric:
        precondition(next == 0 ? reference == 0 : reference == nil, "JSON refused a token the grammar allows")
    }
    let csv = padded.withUnsafeBufferPointer { DecimalParser.parse($0.baseAddress!, 0, size) }
    if case .value(let v) = csv {
        precondition(v.bitPattern == strtodValue(bytes[...]).bitPattern, "CSV value differs from strtod")
        if case .value(let w) = json, next == size { precondition(v.bitPattern == w.bitPattern, "dialects disagree") }
    } else if case .value = json, next == size {
        preconditionFailure("CSV refused a whole JSON number")
    }
    return 0
}
