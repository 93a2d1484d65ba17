import Glibc
import Foundation

/// Small helpers for the CLI's output files and streams.
enum Output {
    /// Refuses to replace an existing file unless asked: nothing a user gave is lost silently.
    static func checkWritable(_ path: String, force: Bool) throws {
        if !force, FileManager.default.fileExists(atPath: path) {
            throw CLIError("\(path) exists; pass --force to overwrite it")
        }
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    static func stderr(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}

/// An error the CLI reports as `Error: <message>` with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Buffered writing of a text file (or stdout), for CSV output.
final class TextSink {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private var failed = false

    init(path: String?) throws {
        if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw CLIError("\(path): cannot create: \(String(cString: strerror(errno)))") }
            self.fd = fd
            self.path = path
        } else {
            fflush(nil)   // what print() buffered goes first
            fd = 1
            self.path = "<stdout>"
        }
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    func write(bytes: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        var off = 0
        buffer.withUnsafeBytes { raw in
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { failed = true; return }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        if fd != 1 { Glibc.close(fd) }
        if failed { throw CLIError("\(path): write failed") }
    }
}

/// SIGINT and SIGTERM call `handler` (a C function: it may only touch atomics), and are unblocked:
/// a parent may have started us with them blocked.
func trapStopSignals(_ handler: @convention(c) (Int32) -> Void) {
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
    var stopSignals = sigset_t()
    sigemptyset(&stopSignals)
    sigaddset(&stopSignals, SIGINT)
    sigaddset(&stopSignals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
}
