import Glibc

/// Streams a file's lines (without `\n` or `\r\n`) in fixed-size chunks, so a week-long
/// capture never has to fit in memory.
struct LineReader {
    let path: String
    var chunkSize = 1 << 20

    struct OpenError: Error { var reason: String }

    /// Calls `body` with each line and its 1-based number; `body` returns false to stop.
    func forEachLine(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Bool) throws {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw OpenError(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var filled = 0
        var lineNumber = 0
        var eof = false
        while !eof {
            if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }  // a line longer than the buffer
            let n = buffer.withUnsafeMutableBufferPointer { p in read(fd, p.baseAddress! + filled, p.count - filled) }
            if n < 0 { throw OpenError(reason: String(cString: strerror(errno))) }
            if n == 0 { eof = true }
            filled += n
            var start = 0
            let keepGoing = try buffer.withUnsafeBufferPointer { p -> Bool in
                let base = p.baseAddress!
                while start < filled {
                    var end = start
                    if let nl = memchr(base + start, 0x0A, filled - start) {
                        end = UnsafeRawPointer(nl).assumingMemoryBound(to: UInt8.self) - base
                    } else if eof {
                        end = filled
                    } else {
                        break
                    }
                    var lineEnd = end
                    if lineEnd > start, base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                    lineNumber += 1
                    if !(try body(UnsafeBufferPointer(start: base + start, count: lineEnd - start), lineNumber)) { return false }
                    start = end + 1
                }
                return true
            }
            if !keepGoing { return }
            if start >= filled { filled = 0 } else if start > 0 {
                buffer.withUnsafeMutableBufferPointer { p in _ = memmove(p.baseAddress!, p.baseAddress! + start, filled - start) }
                filled -= start
            }
        }
    }
}
