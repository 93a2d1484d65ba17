#!/usr/bin/env python3
"""A Mirai-style scan as a pcap: one device (the simulator's Thermostat MAC, 192.168.1.21) sends
TCP SYNs to port 23 of N random IPv4 addresses, 1,000 a second. With --spoof-source, each packet
comes from a random (locally administered) source MAC and 10.x.y.z address instead: a flood of
spoofed senders, one new host a packet. Usage: scan_pcap.py N OUT.pcap [--spoof-source]"""
import random
import struct
import sys

n, path = int(sys.argv[1]), sys.argv[2]
spoof = "--spoof-source" in sys.argv[3:]
rng = random.Random(1)
src_mac, dst_mac = bytes.fromhex("4461321f9e0a"), bytes.fromhex("001122334455")
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        src_ip = bytes([192, 168, 1, 21])
        if spoof:
            src_mac = bytes([0x02]) + rng.getrandbits(40).to_bytes(5, "big")
            src_ip = bytes([10]) + rng.getrandbits(24).to_bytes(3, "big")
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0, src_ip,
                         rng.getrandbits(32).to_bytes(4, "big"))
        tcp = struct.pack("!HHIIBBHHH", 40000 + i % 1000, 23, i, 0, 0x50, 0x02, 1024, 0, 0)
        frame = dst_mac + src_mac + b"\x08\x00" + ip + tcp
        us = 1_700_000_000_000_000 + i * 1000
        f.write(struct.pack("<IIII", us // 1_000_000, us % 1_000_000, len(frame), 60) + frame)
