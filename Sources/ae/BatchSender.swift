import Foundation
import Glibc
import Synchronization

/// What `ae agent` counts, for its summary and its metrics.
final class AgentCounters: Sendable {
    enum DropReason: String, CaseIterable { case queueFull = "queue_full", rejected, shutdown }

    /// Set by SIGINT/SIGTERM.
    static let stopRequested = Atomic<Bool>(false)

    let packets = Atomic<Int>(0)
    let rowsSent = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let alerts = Atomic<Int>(0)
    let queuedRows = Atomic<Int>(0)
    let hosts = Atomic<Int>(0)
    let hostsLetGo = Atomic<Int>(0)
    let streamsShed = Atomic<Int>(0)
    private let droppedQueueFull = Atomic<Int>(0)
    private let droppedRejected = Atomic<Int>(0)
    private let droppedShutdown = Atomic<Int>(0)

    func drop(_ reason: DropReason, _ rows: Int) {
        switch reason {
        case .queueFull: droppedQueueFull.add(rows, ordering: .relaxed)
        case .rejected: droppedRejected.add(rows, ordering: .relaxed)
        case .shutdown: droppedShutdown.add(rows, ordering: .relaxed)
        }
    }

    func dropSummary() -> [(String, Int)] {
        [(DropReason.queueFull.rawValue, droppedQueueFull.load(ordering: .relaxed)),
         (DropReason.rejected.rawValue, droppedRejected.load(ordering: .relaxed)),
         (DropReason.shutdown.rawValue, droppedShutdown.load(ordering: .relaxed))]
    }

    /// Seconds on the monotonic clock.
    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Prometheus text exposition.
    func exposition() -> String {
        var s = ""
        func counter(_ name: String, _ help: String, _ v: Int) { s += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name) \(v)\n" }
        counter("ae_agent_packets_total", "Packets captured.", packets.load(ordering: .relaxed))
        counter("ae_agent_rows_sent_total", "Feature rows the service answered.", rowsSent.load(ordering: .relaxed))
        counter("ae_agent_batches_total", "Batches the service answered.", batches.load(ordering: .relaxed))
        counter("ae_agent_retries_total", "Batch sends retried (connection failure or 5xx).", retries.load(ordering: .relaxed))
        counter("ae_agent_alerts_total", "Alerts raised.", alerts.load(ordering: .relaxed))
        counter("ae_agent_hosts_let_go_total", "Hosts made on sight (--default-model) let go: idle past --idle-timeout, or the longest idle past --max-hosts.",
                hostsLetGo.load(ordering: .relaxed))
        counter("ae_agent_streams_shed_total", "Times the extractor's stream budget let the streams idle the longest go.", streamsShed.load(ordering: .relaxed))
        s += "# HELP ae_agent_rows_dropped_total Rows not sent, by reason.\n# TYPE ae_agent_rows_dropped_total counter\n"
        for (reason, n) in dropSummary() { s += "ae_agent_rows_dropped_total{reason=\"\(reason)\"} \(n)\n" }
        s += "# HELP ae_agent_queue_rows Rows waiting to be sent.\n# TYPE ae_agent_queue_rows gauge\nae_agent_queue_rows \(queuedRows.load(ordering: .relaxed))\n"
        s += "# HELP ae_agent_hosts Hosts made on sight (--default-model) held now.\n# TYPE ae_agent_hosts gauge\nae_agent_hosts \(hosts.load(ordering: .relaxed))\n"
        return s
    }
}

/// The queue between the capture and the service, and the one thread that sends it in order:
/// batches go out as OIP v2 inference requests with FP64 binary tensors, and each row's verdict
/// goes into its device's window vote. Bounded in rows: a capture file waits for room, a live
/// capture drops (counted). A connection failure or a 5xx is retried with backoff until it works
/// or, after `finish`, its drain deadline passes.
final class BatchSender: @unchecked Sendable {
    private let client: ServiceClient
    private let token: String?
    private let capacity: Int
    private let counters: AgentCounters
    private let alerts: TextSink
    private let condition = NSCondition()
    /// Batches in order; a sent one's slot is emptied at once, so the queue holds only what waits.
    private var queue: [Job?] = []
    private var head = 0
    private var queuedRows = 0
    private var finishing = false
    private var finished = false
    private var deadline = Double.infinity
    private var lastDropLog = 0.0
    /// The hosts let go (`letGo`), their votes summed: read after `finish`.
    private(set) var gone = HostsLetGo()

    /// What the sender does next, in the capture's order.
    private enum Job {
        case send(AgentBatch)
        /// The device's last rows are ahead in the queue: close its open alert after them.
        case letGo(AgentDevice)

        var rows: Int { if case .send(let b) = self { b.rows } else { 0 } }
    }

    init(client: ServiceClient, token: String?, capacity: Int, counters: AgentCounters, alerts: TextSink) {
        self.client = client
        self.token = token
        self.capacity = capacity
        self.counters = counters
        self.alerts = alerts
        Thread { self.loop() }.start()
    }

    /// Queues `b`; with no room, waits (`wait`, until SIGINT/SIGTERM) or drops it, counted and logged.
    func enqueue(_ b: AgentBatch, wait: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while queuedRows + b.rows > capacity {
            if wait && AgentCounters.stopRequested.load(ordering: .relaxed) {
                counters.drop(.shutdown, b.rows)   // stopping while the service cannot keep up
                return
            }
            if !wait {
                counters.drop(.queueFull, b.rows)
                let now = AgentCounters.now()
                if now - lastDropLog >= 1 {   // at most a line a second; the counter has every row
                    lastDropLog = now
                    Output.stderr("ae agent: queue full (\(queuedRows) rows waiting for the service): dropped \(b.rows) rows for model \(b.model.name)\n")
                }
                return
            }
            _ = condition.wait(until: Date().addingTimeInterval(0.2))   // wakes to see a stop request
        }
        queue.append(.send(b))
        queuedRows += b.rows
        counters.queuedRows.store(queuedRows, ordering: .relaxed)
        condition.broadcast()
    }

    /// `d` has gone idle and is let go: once the rows queued before this are answered, its open
    /// alert is closed and its vote added to `gone`. Takes no room: it never waits or drops.
    func letGo(_ d: AgentDevice) {
        condition.lock()
        defer { condition.unlock() }
        queue.append(.letGo(d))
        condition.broadcast()
    }

    /// No more batches: sends what is queued within `seconds` (the rest is dropped, counted);
    /// whether everything went.
    func finish(within seconds: Double) -> Bool {
        condition.lock()
        finishing = true
        deadline = AgentCounters.now() + seconds
        condition.broadcast()
        while !finished { condition.wait() }
        let complete = queue.count == head
        condition.unlock()
        return complete
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count && !finishing { condition.wait() }
            if head == queue.count {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = queue[head]!
            queue[head] = nil
            head += 1
            if head >= 256, head * 2 >= queue.count { queue.removeFirst(head); head = 0 }
            condition.unlock()
            switch job {
            case .send(let b): send(b)
            case .letGo(let d): close(d)
            }
            condition.lock()
            queuedRows -= job.rows
            counters.queuedRows.store(queuedRows, ordering: .relaxed)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func close(_ d: AgentDevice) {
        if let alert = d.vote.close(ended: false) {
            alerts.write(alert)
            alerts.flush()
            counters.alerts.add(1, ordering: .relaxed)
        }
        condition.lock()
        gone.add(rows: d.vote.rows, vote: d.vote.stream, alerts: d.vote.alerts)
        condition.unlock()
    }

    private func pastDeadline() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return finishing && AgentCounters.now() > deadline
    }

    private func send(_ b: AgentBatch) {
        let n = b.model.columns.count
        let head = #"{"inputs":[{"name":"features","shape":[\#(b.rows),\#(n)],"datatype":"FP64","parameters":{"binary_data_size":\#(b.rows * n * 8)}}],"#
            + #""outputs":[{"name":"mse","parameters":{"binary_data":true}},{"name":"anomaly","parameters":{"binary_data":true}}]}"#
        var body = Array(head.utf8)
        let jsonLength = body.count
        b.values.withUnsafeBytes { raw in   // little-endian on every CPU this runs on (x86-64, arm64)
            body.append(contentsOf: raw)
        }
        var headers = [("Content-Type", "application/octet-stream"), ("Inference-Header-Content-Length", String(jsonLength))]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        var wait = 0.1
        while true {
            if pastDeadline() {   // draining, out of time: the rest go without another attempt
                counters.drop(.shutdown, b.rows)
                Output.stderr("ae agent: drain deadline passed: dropped \(b.rows) rows for model \(b.model.name)\n")
                return
            }
            var why: String
            do {
                let r = try client.request("POST", "/v2/models/\(b.model.name)/infer", headers: headers, body: body)
                if r.status == 200 {
                    if deliver(b, r) { return }
                    why = "an answer that does not match the request"
                } else {
                    why = "status \(r.status): " + ((((try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any])?["error"] as? String) ?? "")
                    if r.status < 500 {
                        counters.drop(.rejected, b.rows)
                        Output.stderr("ae agent: the service refused \(b.rows) rows for model \(b.model.name): \(why)\n")
                        return
                    }
                }
            } catch {
                why = "\(error)"
            }
            if pastDeadline() {
                counters.drop(.shutdown, b.rows)
                Output.stderr("ae agent: drain deadline passed: dropped \(b.rows) rows for model \(b.model.name) (\(why))\n")
                return
            }
            counters.retries.add(1, ordering: .relaxed)
            if wait == 0.1 || wait >= 2 { Output.stderr("ae agent: retrying \(b.rows) rows for model \(b.model.name) in \(wait) s: \(why)\n") }
            Thread.sleep(forTimeInterval: wait)
            wait = min(wait * 2, 2)
        }
    }

    /// Reads the binary answer (mse FP32, then anomaly BOOL, one each per row) into the device's
    /// window vote; false when it does not have that shape.
    private func deliver(_ b: AgentBatch, _ r: ServiceClient.Response) -> Bool {
        guard let length = Int(r.headers["inference-header-content-length"] ?? ""), length >= 0,
              r.body.count == length + 5 * b.rows else { return false }
        for i in 0..<b.rows {
            let o = length + 4 * i
            let mse = Float(bitPattern: UInt32(r.body[o]) | UInt32(r.body[o + 1]) << 8 | UInt32(r.body[o + 2]) << 16 | UInt32(r.body[o + 3]) << 24)
            let anomaly = r.body[length + 4 * b.rows + i] != 0
            if let alert = b.devices[i].vote.add(packet: b.stamps[i].packet, time: b.stamps[i].time, mse: mse, anomaly: anomaly) {
                alerts.write(alert)
                alerts.flush()
                counters.alerts.add(1, ordering: .relaxed)
            }
        }
        counters.rowsSent.add(b.rows, ordering: .relaxed)
        counters.batches.add(1, ordering: .relaxed)
        return true
    }
}

/// `--metrics-port`: answers every request with the agent's counters (Prometheus text), one
/// connection at a time, on a thread of its own.
final class MetricsListener: @unchecked Sendable {
    private let fd: Int32
    let port: Int

    init(host: String, port: Int, counters: AgentCounters) throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let a = res else { throw CLIError("--metrics-host: '\(host)' is not an IP address") }
        defer { freeaddrinfo(res) }
        let s = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard s >= 0, bind(s, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0, listen(s, 16) == 0 else {
            let why = String(cString: strerror(errno))
            if s >= 0 { close(s) }
            throw CLIError("--metrics-port \(port): cannot listen on \(host): \(why)")
        }
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) } }
        self.port = Int(withUnsafeBytes(of: address) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) })
        fd = s
        Thread { [fd] in
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { if errno == EINTR { continue }; return }
                var tv = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var request = [UInt8](repeating: 0, count: 8192)
                _ = recv(c, &request, request.count, 0)   // the request itself does not matter
                let body = Array(counters.exposition().utf8)
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
                let answer = Array(head.utf8) + body
                _ = answer.withUnsafeBytes { Glibc.send(c, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
                close(c)
            }
        }.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
