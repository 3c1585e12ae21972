"""The .gcv container on its own: no model, no torch."""

from __future__ import annotations

import io
import struct
import zlib
from fractions import Fraction

import pytest

from gancodec.bitstream import (
    FRAME_I,
    MAGIC,
    GcvReader,
    GcvWriter,
    Record,
    StreamHeader,
    encode_varint,
    read_varint,
)
from gancodec.errors import BitstreamError


def make_stream(n_frames: int = 3) -> bytes:
    header = StreamHeader(
        width=352, height=288, fps=Fraction(30000, 1001), model_id="gc-intra-hp",
        weights_sha256=bytes(range(32)), quality=3.25, metadata={"source": "x.mkv"},
    )  # fmt: skip
    buf = io.BytesIO()
    writer = GcvWriter(buf, header)
    for i in range(n_frames):
        writer.write_record(Record(FRAME_I, i, 3.25, [bytes([i]) * 5, b"payload" * (i + 1)]))
    writer.close()
    return buf.getvalue()


def read_all(data: bytes) -> tuple[StreamHeader, list[Record]]:
    reader = GcvReader(io.BytesIO(data))
    return reader.header, list(reader.frames())


def test_round_trip_keeps_every_field():
    header, frames = read_all(make_stream(3))
    assert (header.width, header.height, header.fps) == (352, 288, Fraction(30000, 1001))
    assert header.model_id == "gc-intra-hp" and header.weights_sha256 == bytes(range(32))
    assert header.quality == 3.25 and header.frame_count == 3
    assert header.metadata == {"source": "x.mkv"}
    assert [f.frame_number for f in frames] == [0, 1, 2]
    assert frames[2].streams == [b"\x02" * 5, b"payload" * 3]


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**21, 2**32 - 1])
def test_varint_round_trip(value):
    data = encode_varint(value)
    assert read_varint(io.BytesIO(data), "test") == (value, data)


def test_wrong_magic():
    data = b"RIFF" + make_stream()[4:]
    with pytest.raises(BitstreamError, match="magic"):
        read_all(data)


def test_unknown_major_version():
    data = bytearray(make_stream())
    data[4] = 9
    with pytest.raises(BitstreamError, match="version 9"):
        read_all(bytes(data))


def test_header_corruption_is_detected():
    data = bytearray(make_stream())
    data[12] ^= 0x01  # inside the width field
    with pytest.raises(BitstreamError, match="header checksum"):
        read_all(bytes(data))


def test_payload_bit_flip_names_the_frame():
    data = make_stream()
    header_len = len(data) - len(data.split(b"GF", 1)[1]) - 2
    flip_at = data.index(b"payload" * 2)  # inside frame 1
    corrupt = bytearray(data)
    corrupt[flip_at] ^= 0x10
    assert flip_at > header_len
    with pytest.raises(BitstreamError, match="frame 1"):
        read_all(bytes(corrupt))


def test_every_truncation_is_an_error():
    data = make_stream()
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            read_all(data[:cut])


def test_hostile_length_is_refused_before_allocation():
    data = bytearray(make_stream(1))
    first = data.index(b"GF")
    # replace the first stream length by a huge varint
    data[first + 10 : first + 11] = encode_varint(2**34)
    with pytest.raises(BitstreamError):
        read_all(bytes(data))


def test_hostile_header_fields():
    good = make_stream()
    (header_len,) = struct.unpack("<I", good[6:10])
    body = bytearray(good[10 : 10 + header_len - 4])
    struct.pack_into("<I", body, 2, 10**6)  # width
    head = MAGIC + good[4:6] + struct.pack("<I", header_len)
    bad = head + bytes(body) + struct.pack("<I", zlib.crc32(head + bytes(body))) + good[10 + header_len :]
    with pytest.raises(BitstreamError, match="frame size"):
        read_all(bad)
