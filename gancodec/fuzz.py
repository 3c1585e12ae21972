"""Seeded mutations of .gcv files, for the fuzz test (tests/) and the long fuzz run (benchmarks/).

Three families: raw byte damage (truncation, bit flips, garbage after the magic), payload damage
re-wrapped with valid CRCs (so it reaches the entropy decoder), and hostile headers with valid
CRCs (huge sizes, zero fps, absurd frame counts).
"""

from __future__ import annotations

import io
import random
import struct
import zlib

from gancodec.bitstream import FRAME_TYPES, GcvReader, GcvWriter, Record

_FIXED = struct.Struct("<HIIBBIIIIH")  # the fixed header fields (docs/bitstream.md)


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    mode = rng.randrange(3)
    if mode == 0:
        return data[: rng.randrange(len(data))]
    if mode == 1:
        out = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    return data[:10] + rng.randbytes(rng.randrange(200))


def mutate_payloads(data: bytes, rng: random.Random) -> bytes:
    reader = GcvReader(io.BytesIO(data))
    buf = io.BytesIO()
    writer = GcvWriter(buf, reader.header)
    for record in reader.frames():
        streams = [bytearray(s) for s in record.streams]
        k = rng.randrange(len(streams))
        mode = rng.randrange(3)
        if mode == 0 and streams[k]:
            for _ in range(rng.randint(1, 8)):
                streams[k][rng.randrange(len(streams[k]))] ^= 1 << rng.randrange(8)
        elif mode == 1:
            streams[k] = streams[k][: rng.randrange(len(streams[k]) + 1)]
        else:
            streams[k] = bytearray(rng.randbytes(rng.randrange(64)))
        quality = record.quality if rng.random() < 0.9 else rng.choice([0.0, 65.535, 8.001])
        kind = record.type
        if kind in FRAME_TYPES and rng.random() < 0.1:  # read as another frame type: I, P or Pq
            kind = rng.choice([t for t in FRAME_TYPES if t != kind])
        writer.write_record(Record(kind, record.frame_number, quality, [bytes(s) for s in streams]))
    writer.close()
    return buf.getvalue()


def hostile_header(data: bytes, rng: random.Random) -> bytes:
    (header_len,) = struct.unpack("<I", data[6:10])
    head, body = data[:10], bytearray(data[10 : 10 + header_len - 4])
    fields = list(_FIXED.unpack_from(body))
    index = rng.choice([1, 2, 5, 6, 7, 8])  # width, height, fps num/den, frame count, gop
    fields[index] = rng.choice([0, 1, 2**31, 2**32 - 1, 65536, 16385, 16384])
    _FIXED.pack_into(body, 0, *fields)
    crc = struct.pack("<I", zlib.crc32(head + bytes(body)))
    return head + bytes(body) + crc + data[10 + header_len :]


def mutate(data: bytes, seed: int) -> bytes:
    """One fuzz case: a deterministic mutation of a valid stream, chosen by `seed`."""
    rng = random.Random(seed)
    family = seed % 3
    if family == 0:
        return mutate_bytes(data, rng)
    if family == 1:
        return mutate_payloads(data, rng)
    return hostile_header(data, rng)
