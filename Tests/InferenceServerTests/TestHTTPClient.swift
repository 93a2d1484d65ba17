import Foundation
import Glibc

/// A small HTTP/1.1 client over a real TCP socket to 127.0.0.1: keep-alive, exact control of
/// headers and body bytes (to test partial bodies, lies about Content-Length, stalls).
final class TestHTTPClient {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The connection was refused: nothing listens (as after a drain closed the listener).
        var refused = false
    }

    let fd: Int32
    private var pending: [UInt8] = []

    /// Connects from `source` (any address of 127.0.0.0/8: a second client address on loopback).
    init(port: Int, source: String = "127.0.0.1", timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if source != "127.0.0.1" {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else { throw Failure(description: "bind \(source) failed: errno \(errno)") }   // deinit closes fd
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            let e = errno   // deinit closes fd: a class whose init throws after initializing every property is deinitialized
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(e)", refused: e == ECONNREFUSED)
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            off += n
        }
    }

    func send(_ s: String) throws { try send(Array(s.utf8)) }

    func sendHead(_ method: String, _ path: String, headers: [String: String] = [:], contentLength: Int?) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let contentLength { head += "Content-Length: \(contentLength)\r\n" }
        head += "\r\n"
        try send(head)
    }

    func request(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:],
                 json: Bool = true) throws -> Response {
        var h = headers
        if json, body != nil, h["Content-Type"] == nil { h["Content-Type"] = "application/json" }
        try sendHead(method, path, headers: h, contentLength: body?.count ?? (method == "POST" ? 0 : nil))
        if let body { try send(body) }
        return try readResponse(head: method == "HEAD")
    }

    func request(_ method: String, _ path: String, json body: String, headers: [String: String] = [:]) throws -> Response {
        try request(method, path, body: Array(body.utf8), headers: headers)
    }

    private func fill() throws -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
        if n < 0 { throw Failure(description: "recv failed or timed out: errno \(errno)") }
        if n == 0 { return false }
        pending += buf[0..<n]
        return true
    }

    /// True when the connection is still open and silent (a non-blocking peek finds nothing).
    func isOpen() -> Bool {
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    /// True when the server closed the connection (reads until EOF or timeout).
    func isClosedByServer() -> Bool {
        do { while try fill() {} ; return true } catch { return false }
    }

    func readResponse(head: Bool = false) throws -> Response {
        let sep: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int? = nil
        while headerEnd == nil {
            if let r = pending.indices.dropLast(3).first(where: { pending[$0..<($0 + 4)].elementsEqual(sep) }) { headerEnd = r; break }
            guard try fill() else { throw Failure(description: "connection closed before a response") }
        }
        let headText = String(decoding: pending[0..<headerEnd!], as: UTF8.self)
        pending.removeFirst(headerEnd! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for l in lines { if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) } }
        let length = head ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while pending.count < length { guard try fill() else { throw Failure(description: "connection closed mid-body") } }
        let body = Array(pending[0..<length])
        pending.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }
}
