"""A CI-sized, seeded fuzz run of the decoder: damaged and hostile .gcv files never crash it.

Every case must either decode or raise a GancodecError (-> one-line error, non-zero exit); a
segfault in the entropy decoder would kill the test process. Payload mutations are re-wrapped with
valid CRCs so they reach the rANS decoder instead of stopping at the checksum.
"""

from __future__ import annotations

import io
import random

import pytest
from conftest import write_clip

from gancodec.api import decode_file
from gancodec.bitstream import GcvReader, GcvWriter, Record
from gancodec.errors import GancodecError

CASES = 24


@pytest.fixture(scope="module")
def cif_stream(tmp_path_factory):
    """A CIF-sized stream: enough symbols that an unguarded overread leaves the heap."""
    from gancodec.api import encode_file

    folder = tmp_path_factory.mktemp("fuzz")
    src = write_clip(folder / "cif.mkv", width=352, height=288, count=2)
    out = folder / "cif.gcv"
    encode_file(src, out, quality=4)
    return out


def _mutate_payloads(reader: GcvReader, rng: random.Random) -> bytes:
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
        writer.write_record(
            Record(record.type, record.frame_number, record.quality, [bytes(s) for s in streams])
        )
    writer.close()
    return buf.getvalue()


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    mode = rng.randrange(3)
    if mode == 0:
        return data[: rng.randrange(len(data))]
    if mode == 1:
        out = bytearray(data)
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        return bytes(out)
    return data[:10] + rng.randbytes(rng.randrange(200))


@pytest.mark.parametrize("seed", range(CASES))
def test_damaged_streams_never_crash(cif_stream, tmp_path, seed):
    rng = random.Random(seed)
    original = cif_stream.read_bytes()
    if seed % 2:
        data = _mutate_payloads(GcvReader(io.BytesIO(original)), rng)
    else:
        data = _mutate_bytes(original, rng)
    bad = tmp_path / "fuzz.gcv"
    bad.write_bytes(data)
    out = tmp_path / "fuzz.yuv"
    try:
        decode_file(bad, out)
    except GancodecError:
        assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "fuzz.yuv") == ["fuzz.gcv"]
