import Testing
@testable import TrafficFeatures

/// Devices are matched in the text the readers give, whatever form the list used, and a packet
/// goes to the first device named by its source MAC, source IP, destination MAC, destination IP.
@Suite struct DeviceMapTests {
    @Test func addressesAreNormalizedAsTheReadersWriteThem() {
        #expect(DeviceMap.normalize("5C-CF-7F-05-F2-C6") == "5c:cf:7f:05:f2:c6")
        #expect(DeviceMap.normalize("5c:cf:7f:05:f2:c6") == "5c:cf:7f:05:f2:c6")
        #expect(DeviceMap.normalize("192.168.2.108") == "192.168.2.108")
        #expect(DeviceMap.normalize("2001:DB8:0:0:0:0:0:1") == "2001:db8::1")
        #expect(DeviceMap.normalize("fe80:0:0:0:1:0:0:1") == "fe80::1:0:0:1")
        for bad in ["", "5c:cf:7f:05:f2", "5c:cf:7f:05:f2:c6:00", "5c:cf:7f:05:f2:g6", "192.168.2", "192.168.2.256", "x", "::g"] {
            #expect(DeviceMap.normalize(bad) == nil, "\(bad)")
        }
        #expect(DeviceMap.isModelName("Danmini_Doorbell-2.v1") && !DeviceMap.isModelName("a/b") && !DeviceMap.isModelName(""))
        #expect(DeviceMap.isModelName(String(repeating: "a", count: 64)) && !DeviceMap.isModelName(String(repeating: "a", count: 65)))
    }

    @Test func aPacketBelongsToTheFirstListedOfItsAddresses() throws {
        let table = AddressTable()
        let map = try DeviceMap([("aa:aa:aa:aa:aa:aa", "cam"), ("10.0.0.2", "plug"), ("BB-BB-BB-BB-BB-BB", "bulb")],
                                source: "devices.json", addresses: table)
        func packet(_ srcMAC: String, _ dstMAC: String, _ srcIP: String, _ dstIP: String) -> Packet {
            Packet(time: 0, length: 60, srcMAC: table.intern(srcMAC), dstMAC: table.intern(dstMAC), srcIP: table.intern(srcIP),
                   dstIP: table.intern(dstIP), srcProto: 0, dstProto: 0, isARP: false)
        }
        #expect(map.device(of: packet("bb:bb:bb:bb:bb:bb", "aa:aa:aa:aa:aa:aa", "10.0.0.9", "10.0.0.2")) == 2)   // source MAC
        #expect(map.device(of: packet("cc:cc:cc:cc:cc:cc", "aa:aa:aa:aa:aa:aa", "10.0.0.2", "10.0.0.9")) == 1)   // then source IP
        #expect(map.device(of: packet("cc:cc:cc:cc:cc:cc", "aa:aa:aa:aa:aa:aa", "10.0.0.9", "10.0.0.2")) == 0)   // then destination MAC
        #expect(map.device(of: packet("cc:cc:cc:cc:cc:cc", "dd:dd:dd:dd:dd:dd", "10.0.0.9", "10.0.0.2")) == 1)   // then destination IP
        #expect(map.device(of: packet("cc:cc:cc:cc:cc:cc", "dd:dd:dd:dd:dd:dd", "10.0.0.9", "10.0.0.8")) == nil)
        #expect(map.devices.map(\.model) == ["cam", "plug", "bulb"] && map.devices[2].address == "bb:bb:bb:bb:bb:bb")
        #expect(throws: DeviceMapError("d: 'AA:AA:AA:AA:AA:AA' names the same device as 'aa:aa:aa:aa:aa:aa'")) {
            try DeviceMap([("aa-aa-aa-aa-aa-aa", "a"), ("AA:AA:AA:AA:AA:AA", "b")], source: "d", addresses: table)
        }
    }
}
