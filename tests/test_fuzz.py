"""A CI-sized, seeded fuzz run of the decoder: damaged and hostile .gcv files never crash it.

Every case must either decode or raise a GancodecError (-> one-line error, non-zero exit) within a
time bound, and leave no output behind. The 10,000-case run is benchmarks/fuzz_decoder.py.
"""

from __future__ import annotations

import time

import pytest
from conftest import write_clip

from gancodec.api import decode_file
from gancodec.errors import GancodecError
from gancodec.fuzz import mutate
from gancodec.stream_info import describe

CASES = 30


@pytest.fixture(scope="module")
def cif_stream(tmp_path_factory):
    """A CIF-sized stream: enough symbols that an unguarded entropy-decoder overread would show."""
    from gancodec.api import encode_file

    folder = tmp_path_factory.mktemp("fuzz")
    src = write_clip(folder / "cif.mkv", width=352, height=288, count=2)
    out = folder / "cif.gcv"
    encode_file(src, out, quality=4)
    return out


@pytest.mark.parametrize("seed", range(CASES))
def test_damaged_streams_never_crash(cif_stream, tmp_path, seed):
    bad = tmp_path / "fuzz.gcv"
    bad.write_bytes(mutate(cif_stream.read_bytes(), seed))
    out = tmp_path / "fuzz.yuv"
    start = time.monotonic()
    for action in (lambda: describe(bad), lambda: decode_file(bad, out)):
        try:
            action()
        except GancodecError as exc:
            assert "\n" not in str(exc)
            assert not out.exists()
    assert time.monotonic() - start < 30
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "fuzz.yuv") == ["fuzz.gcv"]
