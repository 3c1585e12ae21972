"""Old files keep decoding: the committed golden stream must decode to the committed pixels.

If this fails, a change broke the decoding of existing .gcv files (container, entropy coding,
fixed-point hyper-synthesis or synthesis). Fix the change, or bump the format's major version and
keep a decoder for the old one — never regenerate the golden files to make this pass.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from gancodec.api import decode_file
from gancodec.bitstream import read_header
from gancodec.models.registry import register_model

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["golden", "golden-context", "golden-p", "golden-p2", "golden-p3"])
def test_golden_stream_decodes_to_reference_pixels(tmp_path, name):
    """golden: hyperprior-only model; golden-context: channel-wise context (4 slices);
    golden-p: I- and P-frames (format 1.1, frames padded to 64) with the context model;
    golden-p2: the same in format 2.0 (frames padded to 16); golden-p3: format 3.0, with "P" and
    "Pq" (quarter-pel, sharp filters) P-frames."""
    expected = json.loads((DATA / f"{name}.json").read_text())
    with open(DATA / f"{name}.gcv", "rb") as f:
        version = read_header(f).version
    assert f"{version[0]}.{version[1]}" == expected.get("format", "1.1" if name == "golden-p" else "1.0")
    model_file = DATA / expected.get("model_file", f"{name}-model.safetensors")
    register_model(expected["model_id"], model_file, "test-only tiny model")
    old = torch.get_num_threads()
    try:
        for threads in (1, 2):
            out = tmp_path / f"{name}{threads}.yuv"
            decode_file(DATA / f"{name}.gcv", out, threads=threads)
            assert hashlib.sha256(out.read_bytes()).hexdigest() == expected["decoded_i420_sha256"]
    finally:
        torch.set_num_threads(old)
