import ArgumentParser
import Foundation
import TrafficFeatures

/// `ae replay`: a capture's frames out of an interface, to feed a gateway from a recording.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a capture's frames out of a network interface (libpcap; root or CAP_NET_RAW).")

    @Option(help: "The capture: pcap or pcapng.") var pcap: String
    @Option(help: "The interface to send on.") var interface: String
    @Option(help: "At most this many packets a second (default: as fast as the interface takes them).") var pps: Double?

    func run() throws {
        if let pps, !(pps > 0 && pps.isFinite) { throw CLIError("--pps must be > 0") }
        let start = Date()
        let sent = try FrameSender(interface: interface).replay(pcap, packetsPerSecond: pps)
        print("\(sent) frames sent on \(interface) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
    }
}
