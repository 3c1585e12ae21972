"""The .gcv container: read and write, with no torch import (so `gancodec info` stays fast).

Byte layout (all integers little-endian; full description in docs/bitstream.md):

    header  = "GCV\\0" | major u8 | minor u8 | header_len u32 | body | crc32 u32
    body    = flags u16 | width u32 | height u32 | pix_fmt u8 | color u8 | fps_num u32 | fps_den u32
              | frame_count u32 | gop u32 | quality_milli u16
              | model_id str8 | weights_sha256 [32] | coder_id str8 | metadata_json str32
    record  = "GF" | type u8 | frame_number u32 | quality_milli u16 | n_streams u8
              | n_streams x (varint length | bytes) | crc32 u32        (crc over "GF" .. last byte)
    trailer = record of type INDEX whose single stream lists (frame_number u32, offset u64, type u8)
              | index_offset u64 | "GCVE"

A reader that meets an unknown record type skips it (its length is known from the varints), so new
record types (audio, side data) can be added in a minor version. header_len lets old readers skip
header fields appended later. Unknown major versions are refused: a major version changes how the
payload decodes (2.0: frames are padded to a multiple of 16 luma pixels instead of 64), so a reader
that does not know it must not guess.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import BinaryIO

from gancodec.errors import BitstreamError

MAGIC = b"GCV\0"
FORMAT_MAJOR = 3
FORMAT_MINOR = 0
READABLE_MAJORS = (1, 2, 3)  # 1.x (gancodec 0.12.0 and earlier) and 2.x (0.13.0) streams still decode
RECORD_SYNC = b"GF"
TRAILER_MAGIC = b"GCVE"

FRAME_I, FRAME_P, RECORD_AUDIO, FRAME_PQ, RECORD_INDEX = 0, 1, 2, 3, 255
FRAME_TYPES = (FRAME_I, FRAME_P, FRAME_PQ)  # the video frame records (Pq: P-frame, quarter-pel, format 3.0)
RECORD_NAMES = {FRAME_I: "I", FRAME_P: "P", FRAME_PQ: "Pq", RECORD_AUDIO: "audio", RECORD_INDEX: "index"}
PIX_FMT_YUV420P = 0

# Sanity limits, checked before anything is allocated.
MAX_DIMENSION = 16384
MAX_FRAMES = 100_000_000
MAX_HEADER_LEN = 1 << 20
MAX_STREAMS = 16
MAX_STREAM_BYTES = 256 << 20

_FIXED = struct.Struct("<HIIBBIIIIH")


@dataclass
class StreamHeader:
    width: int
    height: int
    fps: Fraction
    model_id: str
    weights_sha256: bytes
    quality: float
    frame_count: int = 0
    gop: int = 1
    flags: int = 0
    pix_fmt: int = PIX_FMT_YUV420P
    color: int = 0  # 0 = BT.601 limited range (what PyAV/swscale assumes by default)
    coder_id: str = "compressai-rans"
    metadata: dict = field(default_factory=dict)
    version: tuple[int, int] = (FORMAT_MAJOR, FORMAT_MINOR)

    def to_bytes(self) -> bytes:
        body = _FIXED.pack(
            self.flags, self.width, self.height, self.pix_fmt, self.color,
            self.fps.numerator, self.fps.denominator, self.frame_count, self.gop,
            quality_to_milli(self.quality),
        )  # fmt: skip
        body += _str8(self.model_id) + self.weights_sha256
        body += _str8(self.coder_id)
        meta = json.dumps(self.metadata, sort_keys=True).encode()
        body += struct.pack("<I", len(meta)) + meta
        head = MAGIC + bytes(self.version) + struct.pack("<I", len(body) + 4)
        return head + body + struct.pack("<I", zlib.crc32(head + body))


@dataclass
class Record:
    type: int
    frame_number: int
    quality: float
    streams: list[bytes]
    offset: int = 0

    @property
    def size(self) -> int:
        """Bytes this record takes in a file."""
        return len(self.to_bytes())

    def to_bytes(self) -> bytes:
        if len(self.streams) > MAX_STREAMS:
            raise ValueError("too many streams in one record")
        out = bytearray(RECORD_SYNC)
        out += struct.pack(
            "<BIHB", self.type, self.frame_number, quality_to_milli(self.quality), len(self.streams)
        )
        for s in self.streams:
            out += encode_varint(len(s)) + s
        out += struct.pack("<I", zlib.crc32(out))
        return bytes(out)

    @property
    def payload_bytes(self) -> int:
        return sum(len(s) for s in self.streams)


INDEX_ENTRY = "<IQB"  # frame number, offset, type: one per frame in the index trailer
INDEX_ENTRY_BYTES = struct.calcsize(INDEX_ENTRY)


def quality_to_milli(quality: float) -> int:
    return round(quality * 1000)


def recorded_quality(quality: float) -> float:
    """The quality a record carries for `quality` (1/1000 steps): what the decoder will use, so the
    encoder must code with it too."""
    return quality_to_milli(quality) / 1000


def _str8(text: str) -> bytes:
    data = text.encode("ascii")
    if len(data) > 255:
        raise ValueError("string too long for the container")
    return bytes([len(data)]) + data


def encode_varint(value: int) -> bytes:
    """LEB128: 7 bits a byte, low bits first."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class _Cursor:
    """Bounds-checked reads from a byte string: every failure is a BitstreamError."""

    def __init__(self, data: bytes, what: str):
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BitstreamError(f"truncated {self.what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: struct.Struct | str):
        s = fmt if isinstance(fmt, struct.Struct) else struct.Struct(fmt)
        return s.unpack(self.take(s.size))

    def str8(self) -> str:
        (n,) = self.unpack("<B")
        try:
            return self.take(n).decode("ascii")
        except UnicodeDecodeError:
            raise BitstreamError(f"invalid text in {self.what}") from None


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise BitstreamError(f"truncated {what}")
    return data


def read_varint(f: BinaryIO, what: str) -> tuple[int, bytes]:
    value, shift, raw = 0, 0, bytearray()
    while True:
        byte = _read_exact(f, 1, what)[0]
        raw.append(byte)
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, bytes(raw)
        shift += 7
        if shift > 35:
            raise BitstreamError(f"invalid length field in {what}")


def read_header(f: BinaryIO) -> StreamHeader:
    magic = f.read(4)
    if magic != MAGIC:
        raise BitstreamError("not a .gcv file (wrong magic bytes)")
    major, minor = _read_exact(f, 2, "header")
    if major not in READABLE_MAJORS:
        readable = " and ".join(f"{m}.x" for m in READABLE_MAJORS)
        raise BitstreamError(
            f"unsupported .gcv format version {major}.{minor} (this gancodec reads {readable})"
            " — upgrade gancodec"
        )
    (header_len,) = struct.unpack("<I", _read_exact(f, 4, "header"))
    if not 4 <= header_len <= MAX_HEADER_LEN:
        raise BitstreamError("invalid header length")
    rest = _read_exact(f, header_len, "header")
    body, crc = rest[:-4], struct.unpack("<I", rest[-4:])[0]
    if zlib.crc32(MAGIC + bytes([major, minor]) + struct.pack("<I", header_len) + body) != crc:
        raise BitstreamError("header checksum mismatch (corrupt file)")
    return _parse_header_body(_Cursor(body, "header"), (major, minor))


def _parse_header_body(c: _Cursor, version: tuple[int, int]) -> StreamHeader:
    flags, width, height, pix_fmt, color, fps_num, fps_den, frame_count, gop, q_milli = c.unpack(_FIXED)
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise BitstreamError(f"invalid frame size {width}x{height} in header")
    if fps_num == 0 or fps_den == 0:
        raise BitstreamError("invalid frame rate in header")
    if frame_count > MAX_FRAMES:
        raise BitstreamError("invalid frame count in header")
    if pix_fmt != PIX_FMT_YUV420P:
        raise BitstreamError(f"unsupported pixel format code {pix_fmt}")
    model_id = c.str8()
    sha = c.take(32)
    coder_id = c.str8()
    (meta_len,) = c.unpack("<I")
    try:
        metadata = json.loads(c.take(meta_len) or b"{}")
    except ValueError:
        raise BitstreamError("invalid metadata in header") from None
    return StreamHeader(
        width=width, height=height, fps=Fraction(fps_num, fps_den), model_id=model_id,
        weights_sha256=sha, quality=q_milli / 1000, frame_count=frame_count, gop=gop, flags=flags,
        pix_fmt=pix_fmt, color=color, coder_id=coder_id, metadata=metadata, version=version,
    )  # fmt: skip


def read_record(f: BinaryIO, max_bytes: int) -> Record | None:
    """Reads the next record, or None at the end of the file.

    `max_bytes` bounds every length field (the bytes left in the file), so a hostile length
    cannot make the reader allocate more than the file holds.
    """
    offset = f.tell()
    sync = f.read(2)
    if sync == b"":
        return None
    if sync != RECORD_SYNC:
        raise BitstreamError(f"lost sync at byte {offset} (corrupt file)")
    fixed = _read_exact(f, 8, "frame record")
    rtype, number, q_milli, n_streams = struct.unpack("<BIHB", fixed)
    if n_streams > MAX_STREAMS:
        raise BitstreamError(f"invalid record at byte {offset} (frame {number})")
    raw = bytearray(sync + fixed)
    streams = []
    for _ in range(n_streams):
        length, len_raw = read_varint(f, "frame record")
        if length > min(max_bytes, MAX_STREAM_BYTES):
            raise BitstreamError(f"invalid payload length in frame {number} (corrupt or truncated file)")
        data = _read_exact(f, length, f"frame {number}")
        raw += len_raw + data
        streams.append(data)
    (crc,) = struct.unpack("<I", _read_exact(f, 4, f"frame {number}"))
    if zlib.crc32(raw) != crc:
        raise BitstreamError(f"checksum mismatch in frame {number} (corrupt file)")
    return Record(rtype, number, q_milli / 1000, streams, offset)


class GcvWriter:
    """Writes a .gcv to an open binary file: header, records, then the index trailer on close()."""

    def __init__(self, f: BinaryIO, header: StreamHeader):
        self.f, self.header = f, header
        self._index: list[tuple[int, int, int]] = []
        self._header_len = len(header.to_bytes())
        f.write(header.to_bytes())

    def write_record(self, record: Record) -> int:
        offset = self.f.tell()
        data = record.to_bytes()
        self.f.write(data)
        if record.type in FRAME_TYPES:
            self._index.append((record.frame_number, offset, record.type))
        return len(data)

    def close(self) -> None:
        """Writes the index trailer and patches the frame count into the header."""
        index = b"".join(struct.pack(INDEX_ENTRY, n, off, t) for n, off, t in self._index)
        index_offset = self.f.tell()
        self.f.write(Record(RECORD_INDEX, len(self._index), self.header.quality, [index]).to_bytes())
        self.f.write(struct.pack("<Q", index_offset) + TRAILER_MAGIC)
        self.header.frame_count = len(self._index)
        patched = self.header.to_bytes()
        if len(patched) != self._header_len:
            raise RuntimeError("header size changed while writing")
        self.f.seek(0)
        self.f.write(patched)
        self.f.seek(0, io.SEEK_END)


class GcvReader:
    """Reads a .gcv: header on open, then frame records in order via frames()."""

    def __init__(self, f: BinaryIO):
        self.f = f
        f.seek(0, io.SEEK_END)
        self.size = f.tell()
        f.seek(0)
        self.header = read_header(f)
        self.data_start = f.tell()

    def records(self) -> Iterator[Record]:
        """Every record up to and including the index; then checks the trailer."""
        self.f.seek(self.data_start)
        while True:
            record = read_record(self.f, self.size - self.f.tell())
            if record is None:
                raise BitstreamError("truncated file (the stream ends before its index)")
            yield record
            if record.type == RECORD_INDEX:
                self._check_trailer(record.offset)
                return

    def _check_trailer(self, index_offset: int) -> None:
        tail = self.f.read(12)
        if len(tail) != 12 or tail[8:] != TRAILER_MAGIC or struct.unpack("<Q", tail[:8])[0] != index_offset:
            raise BitstreamError("truncated or corrupt file trailer")

    def audio(self) -> bytes | None:
        """The audio blob (Matroska, remuxed from the source), stored right after the header."""
        self.f.seek(self.data_start)
        record = read_record(self.f, self.size - self.f.tell())
        if record is not None and record.type == RECORD_AUDIO and len(record.streams) == 1:
            return record.streams[0]
        return None

    def frames(self) -> Iterator[Record]:
        """Frame records in order; checks that numbering is contiguous and the count matches."""
        expected = 0
        for record in self.records():
            if record.type not in FRAME_TYPES:
                continue  # audio, side data, the index: not for the video decoder
            if record.frame_number != expected:
                raise BitstreamError(f"frame {expected} missing (found frame {record.frame_number})")
            expected += 1
            yield record
        if expected != self.header.frame_count:
            raise BitstreamError(
                f"truncated file: header says {self.header.frame_count} frames, found {expected}"
            )

    def frames_resilient(self) -> Iterator[tuple[int, Record | None]]:
        """(frame_number, record) for every frame the header announces; record None if damaged.

        After a damaged record the reader resynchronises on the next sync word that starts a record
        with a valid CRC, like a broadcast decoder; frames in between are reported as None.
        """
        expected, pos = 0, self.data_start
        while expected < self.header.frame_count:
            record, pos = self._next_good_record(pos)
            if record is None:
                break
            if record.type not in FRAME_TYPES or record.frame_number < expected:
                continue
            number = min(record.frame_number, self.header.frame_count)
            for lost in range(expected, number):
                yield lost, None
            if record.frame_number >= self.header.frame_count:
                expected = number
                break
            yield record.frame_number, record
            expected = record.frame_number + 1
        for lost in range(expected, self.header.frame_count):
            yield lost, None

    def _next_good_record(self, pos: int) -> tuple[Record | None, int]:
        """The first intact record at or after byte `pos`, and the byte after it."""
        while pos < self.size:
            self.f.seek(pos)
            try:
                record = read_record(self.f, self.size - pos)
                if record is None:
                    return None, self.size
                return record, self.f.tell()
            except BitstreamError:
                pos = self._find_sync(pos + 1)
        return None, self.size

    def _find_sync(self, pos: int, block: int = 1 << 16) -> int:
        while pos < self.size:
            self.f.seek(pos)
            chunk = self.f.read(block + 1)
            hit = chunk.find(RECORD_SYNC)
            if hit >= 0:
                return pos + hit
            pos += block
        return self.size
