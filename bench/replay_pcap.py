"""Writes a capture replayed N times end to end: each copy's timestamps shifted past the previous
copy's last packet (+1 s), so the extractor sees one continuous capture. pcap (µs or ns) in and out.
   python3 bench/replay_pcap.py IN.pcap N OUT.pcap"""
import struct
import sys

src, times, dst = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(src, "rb").read()
magic = data[:4]
endian = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}[magic]
scale = 10**9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 10**6
records, at = [], 24
while at + 16 <= len(data):
    sec, frac, incl, orig = struct.unpack(endian + "IIII", data[at:at + 16])
    records.append((sec * scale + frac, data[at + 8:at + 16], data[at + 16:at + 16 + incl]))
    at += 16 + incl
span = records[-1][0] - records[0][0] + scale
with open(dst, "wb") as out:
    out.write(data[:24])
    for k in range(times):
        for stamp, lengths, frame in records:
            t = stamp + k * span
            out.write(struct.pack(endian + "II", t // scale, t % scale) + lengths + frame)
print(f"{len(records) * times} packets → {dst}")
