#!/usr/bin/env python3
"""Writes a classic pcap of N RDP connections that never finish: each client sends a SYN and an X.224 Connection
Request (MS-RDPBCGR 2.2.1.1) to port 3389 and nothing else ever happens. All of them start within one minute so none
goes idle before the capture ends: the worst case for the analyzer's per-flow state (issue 17).

usage: bench/open-flows.py OUT.pcap [CONNECTIONS=200000]
"""
import struct
import sys


def frame(src_ip, sport, seq, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, 3389, seq, 0, 5 << 4, flags, 64000, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0, src_ip, bytes([10, 0, 0, 1]))
    eth = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0])
    return eth + ip + tcp + payload


def connection_request():
    cookie = b"Cookie: mstshash=bench\r\n"
    neg = bytes([0x01, 0x00, 0x08, 0x00, 0x0B, 0x00, 0x00, 0x00])  # RDP_NEG_REQ: TLS | CredSSP | RDSTLS
    x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    cr = connection_request()
    span_micros = 60_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i in range(n):
            src = bytes([10, 1 + (i >> 16) % 250, (i >> 8) & 0xFF, i & 0xFF])
            sport = 1024 + (i % 60000)
            t = 1_700_000_000_000_000 + (i * span_micros) // n
            for k, data in enumerate((frame(src, sport, 1000, 0x02), frame(src, sport, 1001, 0x18, cr))):
                ts = t + k * 100
                f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
                f.write(data)
    print(f"wrote {out}: {n} connections, {2 * n} frames")


if __name__ == "__main__":
    main()
