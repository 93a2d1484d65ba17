import CPcap
import Glibc

/// Sends a capture's frames out of a network interface through libpcap (`pcap_inject`), as a
/// device would put them on the wire: what `ae replay` does, to feed a gateway's `ae detect
/// --interface` or `ae agent` from a recorded or simulated capture. A frame cut by the capture's
/// snap length (as `ae synth --gateway` writes them: headers only) goes out at its length on the
/// wire, the bytes the capture did not keep as zeros: the gateway then sees the sizes the device
/// sent, and the size features are the capture's.
public struct FrameSender {
    public let interface: String

    public init(interface: String) { self.interface = interface }

    /// Sends every frame of `path` in order, at most `packetsPerSecond` a second (nil: as fast as
    /// the interface takes them). Returns how many were sent.
    public func replay(_ path: String, packetsPerSecond: Double? = nil) throws(PacketError) -> Int {
        let input = try CaptureReader.openFile(path)
        defer { pcap_close(input) }
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let output = pcap_create(interface, &errbuf) else {
            throw PacketError(file: interface, line: nil, message: "cannot send: \(CaptureReader.text(errbuf))")
        }
        defer { pcap_close(output) }
        let status = pcap_activate(output)
        if status < 0 {
            let reason = status == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
                : status == PCAP_ERROR_PERM_DENIED ? "permission denied (needs root or CAP_NET_RAW)" : String(cString: pcap_geterr(output))
            throw PacketError(file: interface, line: nil, message: "cannot send: \(reason)")
        }
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        var sent = 0
        var padded: [UInt8] = []
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let start = Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
        while true {
            let r = pcap_next_ex(input, &header, &data)
            if r == PCAP_ERROR_BREAK { break }
            guard r == 1, let h = header, let d = data else {
                throw PacketError(file: path, line: nil, message: "record \(sent + 1): \(String(cString: pcap_geterr(input)))")
            }
            if let rate = packetsPerSecond {
                let due = start + Double(sent) / rate
                clock_gettime(CLOCK_MONOTONIC, &clock)
                let wait = due - (Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9)
                if wait > 0 { usleep(UInt32(wait * 1e6)) }   // pacing, not synchronisation
            }
            let captured = Int(h.pointee.caplen), wire = Int(h.pointee.len)
            let status = wire > captured
                ? Self.inject(output, d, captured: captured, wire: wire, into: &padded)
                : pcap_inject(output, d, captured)
            if status < 0 {
                throw PacketError(file: interface, line: nil, message: "frame \(sent + 1) not sent: \(String(cString: pcap_geterr(output)))")
            }
            sent += 1
        }
        return sent
    }

    /// Sends the `captured` bytes of `frame` followed by zeros up to `wire` bytes.
    private static func inject(_ output: OpaquePointer, _ frame: UnsafePointer<UInt8>, captured: Int, wire: Int, into buffer: inout [UInt8]) -> Int32 {
        if buffer.count < wire { buffer = [UInt8](repeating: 0, count: wire) }
        return buffer.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.update(from: frame, count: captured)
            b.baseAddress!.advanced(by: captured).update(repeating: 0, count: wire - captured)
            return pcap_inject(output, b.baseAddress!, wire)
        }
    }
}
