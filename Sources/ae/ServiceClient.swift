import Foundation
import Glibc

/// A keep-alive HTTP/1.1 connection to the service, for `ae agent`: one request at a time,
/// bodies framed by Content-Length (as ae-server answers). A failure closes the connection; the
/// next request opens a new one.
final class ServiceClient {
    struct Response {
        var status: Int
        var headers: [String: String]   // names in lower case
        var body: [UInt8]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let host: String
    let port: Int
    let timeoutSeconds: Int
    private var fd: Int32 = -1
    private var pending: [UInt8] = []

    /// `url`: `http://host:port` (no path; IPv4, IPv6 in brackets, or a name).
    init(url: String, timeoutSeconds: Int = 10) throws {
        guard let u = URLComponents(string: url), u.scheme == "http", let host = u.host, !host.isEmpty,
              u.path.isEmpty || u.path == "/", u.query == nil else {
            throw CLIError("--server must be http://HOST:PORT, got '\(url)'")
        }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = u.port ?? 80
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { disconnect() }

    func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        pending.removeAll()
    }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &res)
        guard rc == 0, let first = res else { throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(res) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        var lastError = "no address"
        while let a = ai {
            let s = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            if s >= 0 {
                var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var one: Int32 = 1
                setsockopt(s, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                if Glibc.connect(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 {
                    fd = s
                    return
                }
                lastError = String(cString: strerror(errno))
                close(s)
            }
            ai = a.pointee.ai_next
        }
        throw Failure(description: "cannot connect to \(host):\(port): \(lastError)")
    }

    /// Sends one request and reads its answer; any failure (connect, send, a short or malformed
    /// answer, a timeout) throws and closes the connection.
    /// A kept-alive connection the service has closed in the meantime (it closes idle ones) fails
    /// once without being a failure of the service: the request is then sent once more on a new one.
    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Response {
        if fd >= 0, let r = try? attempt(method, path, headers, body) { return r }
        return try attempt(method, path, headers, body)
    }

    private func attempt(_ method: String, _ path: String, _ headers: [(String, String)], _ body: [UInt8]) throws -> Response {
        do {
            if fd < 0 { try connect() }
            var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n"
            for (k, v) in headers { head += "\(k): \(v)\r\n" }
            head += "\r\n"
            try send(Array(head.utf8))
            if !body.isEmpty { try send(body) }
            let response = try readResponse()
            if response.headers["connection"]?.lowercased() == "close" { disconnect() }
            return response
        } catch {
            disconnect()
            throw error
        }
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 {
                if n < 0, errno == EINTR { continue }
                throw Failure(description: "send to \(host):\(port) failed: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    private func fill() throws {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 { pending += buf[0..<n]; return }
            if n < 0, errno == EINTR { continue }
            throw Failure(description: n == 0 ? "\(host):\(port) closed the connection" : "no answer from \(host):\(port): \(String(cString: strerror(errno)))")
        }
    }

    private func readResponse() throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if pending.count >= 4, let i = (0...(pending.count - 4)).first(where: { pending[$0] == 13 && pending[$0..<($0 + 4)].elementsEqual(separator) }) {
                end = i
            } else {
                if pending.count > 65536 { throw Failure(description: "an answer's headers exceed 64 KiB") }
                try fill()
            }
        }
        let lines = String(decoding: pending[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw Failure(description: "not an HTTP answer: '\(lines[0].prefix(60))'")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let length = Int(headers["content-length"] ?? ""), length >= 0, length <= 1 << 30 else {
            throw Failure(description: "an answer without a usable Content-Length")
        }
        pending.removeFirst(end! + 4)
        while pending.count < length { try fill() }
        let body = Array(pending[0..<length])
        pending.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }
}
