/// One IoT device type's benign behaviour, for simulated fleets (`ae synth --fleet`).
///
/// A device is a set of flows. A flow is a series of sessions with one peer; a session is one or
/// more request/reply exchanges. Streaming (a camera's video, a monitor's audio) is a session of
/// thousands of exchanges a few tens of milliseconds apart. Session rates follow a daily rhythm
/// where the flow says so: multiplied by `1 + rhythm · cos(2π (hour − peakHour) / 24)`.
public struct DeviceProfile: Sendable {
    public struct Flow: Sendable {
        public enum Peer: Sendable, Equatable {
            case cloud(String)
            case router
            case ntp
            /// The owner's phone on the LAN; it opens the session.
            case phone
            /// Another LAN host (a video recorder, a hub).
            case lan(String)
            /// The router's ARP request and the device's answer.
            case arp
            /// A multicast group (SSDP, mDNS): no reply.
            case multicast(String)
        }
        public var peer: Peer
        /// The peer's port (the service).
        public var port: Int
        /// Mean seconds between session starts.
        public var meanGap: Double
        /// Exponential gaps when true, else uniform within ±30% of the mean (a timer).
        public var poisson: Bool
        public var exchanges: ClosedRange<Int>
        /// Mean seconds between a session's exchanges.
        public var exchangeGap: Double
        public var request: ClosedRange<Int>
        public var reply: ClosedRange<Int>
        public var replyProbability: Double
        public var followsRhythm: Bool

        public init(_ peer: Peer, port: Int, every meanGap: Double, poisson: Bool = false, exchanges: ClosedRange<Int> = 1...1,
                    exchangeGap: Double = 0.1, request: ClosedRange<Int>, reply: ClosedRange<Int>, replyProbability: Double = 1,
                    rhythm: Bool = false) {
            self.peer = peer; self.port = port; self.meanGap = meanGap; self.poisson = poisson; self.exchanges = exchanges
            self.exchangeGap = exchangeGap; self.request = request; self.reply = reply
            self.replyProbability = replyProbability; self.followsRhythm = rhythm
        }
    }

    /// The folder name, as in the UCI download (`Danmini_Doorbell`, …).
    public var name: String
    public var mac: String
    public var ip: String
    public var flows: [Flow]
    public var rhythm: Double
    public var peakHour: Double

    public init(name: String, mac: String, ip: String, rhythm: Double, peakHour: Double, flows: [Flow]) {
        self.name = name; self.mac = mac; self.ip = ip; self.rhythm = rhythm; self.peakHour = peakHour; self.flows = flows
    }

    /// Nine device types, as many as N-BaIoT's. `ae synth --fleet` takes the first `--devices`.
    public static let fleet: [DeviceProfile] = [
        DeviceProfile(name: "Video_Doorbell", mac: "00:1e:c0:8a:3c:5f", ip: "192.168.1.20", rhythm: 0.7, peakHour: 15, flows: [
            Flow(.cloud("52.24.43.67"), port: 443, every: 30, request: 66...160, reply: 60...120),
            Flow(.router, port: 53, every: 120, poisson: true, request: 70...95, reply: 100...260),
            Flow(.ntp, port: 123, every: 900, request: 90...90, reply: 90...90),
            Flow(.arp, port: 0, every: 60, request: 60...60, reply: 60...60),
            // Motion: several seconds of video upload.
            Flow(.cloud("52.25.66.250"), port: 443, every: 150, poisson: true, exchanges: 100...600, exchangeGap: 0.03,
                 request: 1200...1450, reply: 60...66, replyProbability: 0.5, rhythm: true),
            Flow(.phone, port: 8080, every: 400, poisson: true, exchanges: 3...12, exchangeGap: 0.4, request: 120...600, reply: 200...1200, rhythm: true),
        ]),
        DeviceProfile(name: "Thermostat", mac: "44:61:32:1f:9e:0a", ip: "192.168.1.21", rhythm: 0.3, peakHour: 7, flows: [
            Flow(.cloud("34.200.12.9"), port: 8883, every: 60, request: 90...140, reply: 60...90),
            Flow(.cloud("34.200.12.9"), port: 8883, every: 300, poisson: true, exchanges: 2...5, exchangeGap: 0.2,
                 request: 200...420, reply: 60...80, rhythm: true),
            Flow(.router, port: 53, every: 600, poisson: true, request: 70...90, reply: 110...200),
            Flow(.ntp, port: 123, every: 3600, request: 90...90, reply: 90...90),
            Flow(.arp, port: 0, every: 60, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Security_Camera", mac: "00:12:12:a0:44:3b", ip: "192.168.1.22", rhythm: 0.2, peakHour: 12, flows: [
            // Continuous RTSP video to the recorder on the LAN, in long sessions.
            Flow(.lan("192.168.1.50"), port: 554, every: 8, poisson: true, exchanges: 400...2500, exchangeGap: 0.04,
                 request: 1000...1450, reply: 60...66, replyProbability: 0.2),
            Flow(.cloud("54.213.10.4"), port: 443, every: 20, request: 70...130, reply: 60...100),
            Flow(.router, port: 53, every: 300, poisson: true, request: 70...95, reply: 100...260),
            Flow(.arp, port: 0, every: 45, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Baby_Monitor", mac: "00:17:88:24:76:ff", ip: "192.168.1.23", rhythm: 0.9, peakHour: 22, flows: [
            // Audio to the parents' unit, always on: a stream that reconnects every few minutes.
            Flow(.phone, port: 5004, every: 5, poisson: true, exchanges: 2000...12000, exchangeGap: 0.06,
                 request: 160...320, reply: 60...70, replyProbability: 0.05),
            Flow(.cloud("35.160.78.4"), port: 443, every: 45, request: 80...150, reply: 60...120),
            Flow(.multicast("239.255.255.250"), port: 1900, every: 120, request: 300...420, reply: 0...0, replyProbability: 0),
            Flow(.router, port: 53, every: 240, poisson: true, request: 70...95, reply: 100...200),
            Flow(.arp, port: 0, every: 60, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Smart_Plug", mac: "50:c7:bf:01:9a:2d", ip: "192.168.1.24", rhythm: 0.5, peakHour: 19, flows: [
            Flow(.cloud("52.58.17.203"), port: 8883, every: 15, request: 60...110, reply: 60...80),
            Flow(.cloud("52.58.17.203"), port: 8883, every: 900, poisson: true, exchanges: 1...3, exchangeGap: 0.5,
                 request: 150...250, reply: 60...90, rhythm: true),
            Flow(.router, port: 53, every: 1800, poisson: true, request: 70...90, reply: 110...160),
            Flow(.arp, port: 0, every: 60, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Webcam", mac: "f4:f2:6d:93:51:f1", ip: "192.168.1.25", rhythm: 0.6, peakHour: 20, flows: [
            // Live view through the cloud, on demand.
            Flow(.cloud("13.56.88.2"), port: 443, every: 900, poisson: true, exchanges: 300...1500, exchangeGap: 0.05,
                 request: 900...1450, reply: 60...66, replyProbability: 0.3, rhythm: true),
            Flow(.cloud("13.56.88.2"), port: 443, every: 25, request: 70...120, reply: 60...100),
            Flow(.router, port: 53, every: 200, poisson: true, request: 70...95, reply: 100...260),
            Flow(.ntp, port: 123, every: 1200, request: 90...90, reply: 90...90),
            Flow(.arp, port: 0, every: 60, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Smart_Speaker", mac: "68:54:fd:3a:7c:10", ip: "192.168.1.26", rhythm: 0.6, peakHour: 18, flows: [
            Flow(.cloud("54.239.22.185"), port: 443, every: 10, request: 70...140, reply: 60...140),
            // Voice requests, then a music stream.
            Flow(.cloud("54.239.22.185"), port: 443, every: 600, poisson: true, exchanges: 20...80, exchangeGap: 0.05,
                 request: 300...900, reply: 200...1200, rhythm: true),
            Flow(.cloud("151.101.2.49"), port: 443, every: 2400, poisson: true, exchanges: 500...3000, exchangeGap: 0.08,
                 request: 60...80, reply: 1200...1450, rhythm: true),
            Flow(.multicast("224.0.0.251"), port: 5353, every: 60, request: 100...300, reply: 0...0, replyProbability: 0),
            Flow(.router, port: 53, every: 90, poisson: true, request: 70...95, reply: 100...260),
        ]),
        DeviceProfile(name: "Light_Bulb", mac: "ec:b5:fa:06:22:87", ip: "192.168.1.27", rhythm: 0.4, peakHour: 20, flows: [
            // Polled by the hub on the LAN.
            Flow(.lan("192.168.1.2"), port: 80, every: 5, request: 120...180, reply: 200...320),
            Flow(.multicast("224.0.0.251"), port: 5353, every: 30, request: 90...200, reply: 0...0, replyProbability: 0),
            Flow(.phone, port: 80, every: 1200, poisson: true, exchanges: 1...4, exchangeGap: 1, request: 150...300, reply: 100...200, rhythm: true),
            Flow(.arp, port: 0, every: 90, request: 60...60, reply: 60...60),
        ]),
        DeviceProfile(name: "Smoke_Detector", mac: "18:b4:30:5c:0e:41", ip: "192.168.1.28", rhythm: 0.1, peakHour: 12, flows: [
            Flow(.cloud("52.1.200.17"), port: 443, every: 300, exchanges: 2...4, exchangeGap: 0.1, request: 100...400, reply: 80...300),
            Flow(.cloud("52.1.200.17"), port: 443, every: 20, request: 60...80, reply: 60...70),
            Flow(.router, port: 53, every: 3600, poisson: true, request: 70...90, reply: 110...160),
            Flow(.ntp, port: 123, every: 3600, request: 90...90, reply: 90...90),
            Flow(.arp, port: 0, every: 120, request: 60...60, reply: 60...60),
        ]),
    ]
}
