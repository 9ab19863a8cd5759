#!/usr/bin/env python3
"""Writes the reference model-container files used by tests/test_bundle.c.

They are built here, independently of bundle.c (zlib's CRC-32, Python's struct), so the test
checks the C code against the documented layout rather than against itself:
  magic "AUTOMLMF", u32 format version, u32 flags, u32 section count, then per section
  u8 tag[4], u32 version, u64 payload length, payload, u32 CRC-32 of the payload.
Run it from this folder; the outputs are checked in, so it only needs running if they change.
"""
import struct
import zlib


def bundle(version, sections):
    out = b"AUTOMLMF" + struct.pack("<III", version, 0, len(sections))
    for tag, ver, payload in sections:
        out += tag + struct.pack("<IQ", ver, len(payload)) + payload
        out += struct.pack("<I", zlib.crc32(payload) & 0xFFFFFFFF)
    return out


def meta_payload():
    name = b"automl"
    # am_buf_str, am_buf_u32, am_buf_f64, am_buf_i64, am_buf_u8
    return (struct.pack("<I", len(name)) + name + struct.pack("<I", 7)
            + struct.pack("<d", 0.5) + struct.pack("<q", -2) + bytes([255]))


SECTIONS = [
    (b"META", 1, meta_payload()),
    (b"FEAT", 2, bytes(range(10))),
    (b"EMPT", 1, b""),
    (b"FEAT", 3, b"x"),
]

with open("golden_v1.amm", "wb") as f:
    f.write(bundle(1, SECTIONS))
with open("future_v7.amm", "wb") as f:
    f.write(bundle(7, SECTIONS[:1]))
