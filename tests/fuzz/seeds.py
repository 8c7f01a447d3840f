#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into corpus/<target>/: for
every request and event id of every service, an empty message and a small
one, plain and split (cv-wire.h); whole frames for the library's frame
reader; a ring holding one frame for the daemon's ring reader. Run it
after adding a service or a request; the corpus is committed."""
import pathlib
import re
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SERVICES = ["quorum", "votequorum", "cmap", "cpg", "corosync_cfg", "evs"]
EVENT, EVENT_SPLIT = 5, 7


def count(service, what):
    text = (ROOT / "generated" / service / f"{service}-client.h").read_text()
    text += (ROOT / "generated" / service / f"{service}-server.h").read_text()
    m = re.search(rf"#define {service.upper()}_N_{what} (\d+)", text)
    return int(m.group(1)) if m else 8


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


# An empty message; field 1 as a varint; field 1 as bytes and field 2 as a
# varint: shapes most requests and events share.
MESSAGES = [b"", b"\x08\x01", b"\x0a\x05group\x10\x02"]
# A split payload: field 1 travels after a protobuf of 2 bytes.
SPLIT = varint(1) + varint(2) + b"\x10\x02" + b"message bytes"


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def message_seeds(target, n_ids):
    for i in range(n_ids):
        for j, m in enumerate(MESSAGES):
            write(target, f"id{i}-{j}", bytes([i, 0]) + m)
        write(target, f"id{i}-split", bytes([i, 1]) + SPLIT)


def frame(kind, payload, event_id=0):
    return struct.pack("<IHHIi", len(payload), kind, event_id, 0, 0) + payload


def main():
    for service in SERVICES:
        message_seeds(f"fuzz_requests_{service}", count(service, "REQUESTS"))
        message_seeds(f"fuzz_events_{service}", count(service, "EVENTS"))
    frames = frame(EVENT, MESSAGES[2]) + frame(EVENT_SPLIT, SPLIT, 1)
    write("fuzz_client_rx", "two-frames", b"\x03" + frames)
    write("fuzz_client_rx", "one-byte-reads", b"\x00" + frames)
    ring = frame(5, MESSAGES[2])
    write("fuzz_ring_reader", "one-frame", struct.pack("<III", len(ring), 0, 0) + ring + b"\x07")
    write("fuzz_ring_reader", "wrapped", struct.pack("<III", 4096 + 8, 0, 4096 - 8) + ring + b"\x07")


if __name__ == "__main__":
    main()
