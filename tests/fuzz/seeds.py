#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets into corpus/<target>/: for
every request and event id of every service, an empty message and a small
one, plain and split (cv-wire.h); whole frames for the library's frame
reader; a ring holding one frame for the daemon's ring reader; a
client's stream (HELLO, requests, split frames) for the daemon's socket
input. Run it
after adding a service or a request; the corpus is committed."""
import pathlib
import re
import struct

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HELLO, REQUEST, EVENT, REQUEST_SPLIT, EVENT_SPLIT, RING_OPEN, SETTLE = 1, 3, 5, 6, 7, 8, 11
WIRE_MAGIC = 0x31564C43


def services():
    """The services with requests, as the generator lists them."""
    text = (ROOT / "generated" / "services.cmake").read_text()
    return re.search(r"set\(CONCLAVE_SERVICES ([^)]*)\)", text).group(1).split()


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


def frame(kind, payload, frame_id=0, seq=0):
    return struct.pack("<IHHIi", len(payload), kind, frame_id, seq, 0) + payload


def session_input_seeds():
    """A client's stream to fuzz-session-input.c's service: a control byte
    (chunk size, descriptors attached), then HELLO and frames."""
    hello = frame(HELLO, struct.pack("<IHH32s", WIRE_MAGIC, 1, 0, b"fuzz"))
    echo, event, validated, quorate, message = 0, 1, 2, 3, 5
    requests = (frame(REQUEST, MESSAGES[1], echo, 1) + frame(REQUEST, MESSAGES[1], event, 2)
                + frame(REQUEST, b"\x08\x07", validated, 3) + frame(REQUEST, b"", quorate, 4)
                + frame(SETTLE, b"", 0, 5) + frame(REQUEST, MESSAGES[2], message, 6)
                + frame(REQUEST_SPLIT, varint(4) + varint(2) + b"\x10\x02" + b"message bytes", message, 7))
    stream = hello + requests
    write("fuzz_session_input", "requests", b"\x00" + stream)
    write("fuzz_session_input", "split-reads", b"\x05" + stream)
    write("fuzz_session_input", "byte-reads", b"\x01" + stream)
    write("fuzz_session_input", "half-closed", b"\x40" + stream + requests[:30])
    ring_open = frame(RING_OPEN, struct.pack("<II", WIRE_MAGIC, 4096), 0, 8)
    write("fuzz_session_input", "ring-open", b"\x10" + hello + ring_open + b"\x01")
    write("fuzz_session_input", "two-descriptors", b"\x30" + hello + ring_open)
    write("fuzz_session_input", "descriptors-before-hello", b"\x30" + requests)
    write("fuzz_session_input", "violation", b"\x00" + hello + frame(REQUEST, b"\x08\x0d", validated, 9))


def main():
    for service in services():
        message_seeds(f"fuzz_requests_{service}", count(service, "REQUESTS"))
        message_seeds(f"fuzz_events_{service}", count(service, "EVENTS"))
    frames = frame(EVENT, MESSAGES[2]) + frame(EVENT_SPLIT, SPLIT, 1)
    write("fuzz_client_rx", "two-frames", b"\x03" + frames)
    write("fuzz_client_rx", "one-byte-reads", b"\x00" + frames)
    ring = frame(5, MESSAGES[2])
    write("fuzz_ring_reader", "one-frame", struct.pack("<III", len(ring), 0, 0) + ring + b"\x07")
    write("fuzz_ring_reader", "wrapped", struct.pack("<III", 4096 + 8, 0, 4096 - 8) + ring + b"\x07")
    # our tail 100 ahead of the client's head: 100 reply bytes unread, room for the rest
    write("fuzz_ring_reader", "reply-ring-in-use", struct.pack("<III", 0, 0, 100) + ring + b"\x07")
    session_input_seeds()


if __name__ == "__main__":
    main()
