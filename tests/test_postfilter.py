"""The decoder's restoration stage (decode --postfilter / --realism): it runs after the
reconstruction, on the shipped codec model's streams, deterministically, and refuses misuse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gancodec.api import decode_file
from gancodec.cli import main
from gancodec.enhance import weights
from gancodec.enhance.weights import enhancer_path
from gancodec.errors import UsageError
from gancodec.models.registry import register_model

DATA = Path(__file__).parent / "data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def shipped_stage(monkeypatch):
    """A restoration stage in the package's place (the enhancer's weights: same network kind)."""
    monkeypatch.setattr(weights, "postfilter_path", enhancer_path)
    return enhancer_path()


def test_restoration_changes_the_pixels_the_same_way_for_any_thread_count(encoded, tmp_path):
    off = decode_file(encoded, tmp_path / "off.yuv", postfilter="off")
    assert off.postfilter is None
    old = torch.get_num_threads()
    try:
        one = decode_file(encoded, tmp_path / "on1.yuv", postfilter=str(enhancer_path()), threads=1)
        decode_file(encoded, tmp_path / "on2.yuv", postfilter=str(enhancer_path()), threads=2)
    finally:
        torch.set_num_threads(old)
    assert _digest(tmp_path / "on1.yuv") == _digest(tmp_path / "on2.yuv") != _digest(tmp_path / "off.yuv")
    assert (tmp_path / "on1.yuv").stat().st_size == (tmp_path / "off.yuv").stat().st_size
    assert one.frames == off.frames and one.postfilter.startswith(f"{enhancer_path().name} ")
    assert one.postfilter.endswith("realism 0")


def test_realism_goes_from_the_fidelity_network_to_the_gan_one(encoded, tmp_path):
    paths = {r: tmp_path / f"r{r}.yuv" for r in (0.0, 0.5, 1.0)}
    for r, path in paths.items():
        s = decode_file(encoded, path, postfilter=str(enhancer_path()), realism=r)
        assert s.postfilter.endswith(f"realism {r:g}")
    assert len({_digest(p) for p in paths.values()}) == 3


def test_the_shipped_stage_restores_streams_of_the_shipped_model_only(encoded, tmp_path, shipped_stage):
    restored = decode_file(encoded, tmp_path / "a.yuv")
    assert restored.postfilter.startswith("gc-postfilter-s ")
    expected = json.loads((DATA / "golden-p3.json").read_text())
    register_model(expected["model_id"], DATA / expected["model_file"], "test-only tiny model")
    other = decode_file(DATA / "golden-p3.gcv", tmp_path / "b.yuv")
    assert other.postfilter is None  # a test model's stream: the reconstruction, as before
    assert _digest(tmp_path / "b.yuv") == expected["decoded_i420_sha256"]
    with pytest.raises(UsageError, match="no restoration stage for"):
        decode_file(DATA / "golden-p3.gcv", tmp_path / "c.yuv", realism=0.5)
    assert not (tmp_path / "c.yuv").exists()


def test_cli_reports_the_stage_and_refuses_misuse(encoded, tmp_path):
    out = tmp_path / "x.y4m"
    ok = CliRunner().invoke(main, ["decode", str(encoded), "-o", str(out), "--postfilter", str(enhancer_path()), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["postfilter"].startswith(enhancer_path().name)
    cases = [
        (["--realism", "1.5"], 2, "--realism must be between 0 and 1"),
        (["--postfilter", "off", "--realism", "0.5"], 2, "--realism needs the restoration stage"),
        (["--postfilter", str(tmp_path / "missing.safetensors")], 3, "restoration weights are missing"),
    ]
    for flags, code, text in cases:
        target = tmp_path / "bad.y4m"
        result = CliRunner().invoke(main, ["decode", str(encoded), "-o", str(target), "-q", *flags])
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert result.exit_code == code, (flags, result.output)
        assert len(lines) == 1 and lines[0].startswith("gancodec: error:") and text in lines[0], result.stderr
        assert not target.exists()


def test_encode_psnr_also_measures_what_decode_shows(clip, tmp_path, shipped_stage):
    import numpy as np

    from gancodec.api import encode_file
    from gancodec.io import VideoReader
    from gancodec.metrics import frame_psnr

    summary = encode_file(clip, tmp_path / "a.gcv", quality=3, measure_psnr=True)
    decode_file(tmp_path / "a.gcv", tmp_path / "a.mkv")
    with VideoReader(clip) as a, VideoReader(tmp_path / "a.mkv") as b:
        shown = np.mean([frame_psnr(x, y).y for x, y in zip(a.frames(), b.frames())])
    assert summary.restored_psnr_y == pytest.approx(shown, abs=1e-9)
    assert summary.restored_psnr_y != pytest.approx(summary.psnr_y, abs=1e-3)


@pytest.fixture(scope="module")
def quality_stage(tmp_path_factory) -> Path:
    """The enhancer's weights grown to take quality planes, their weights made non-zero."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from gancodec.enhance.net import with_quality_input

    with safe_open(str(enhancer_path()), framework="pt") as f:
        metadata = dict(f.metadata())
    tensors = load_file(str(enhancer_path()))
    config = json.loads(metadata["config"])
    fidelity = {k: v for k, v in tensors.items() if not k.startswith("realism.")}
    realism = {k.removeprefix("realism."): v for k, v in tensors.items() if k.startswith("realism.")}
    for prefix, part in (("", fidelity), ("realism.", realism)):
        grown = with_quality_input(part, config["window"])["head.0.weight"].clone()
        grown[:, 6::7] = 0.05  # each frame's quality plane now matters
        tensors[prefix + "head.0.weight"] = grown
    metadata["config"] = json.dumps({**config, "quality_input": True})
    path = tmp_path_factory.mktemp("pf") / "quality.safetensors"
    save_file(tensors, str(path), metadata=metadata)
    return path


def test_a_stage_with_quality_planes_uses_each_frames_quality(encoded, tmp_path, quality_stage):
    old = torch.get_num_threads()
    try:
        s = decode_file(encoded, tmp_path / "q1.yuv", postfilter=str(quality_stage), threads=1)
        decode_file(encoded, tmp_path / "q2.yuv", postfilter=str(quality_stage), threads=2)
    finally:
        torch.set_num_threads(old)
    decode_file(encoded, tmp_path / "blind.yuv", postfilter=str(enhancer_path()))
    assert s.postfilter.startswith("quality.safetensors ")
    assert _digest(tmp_path / "q1.yuv") == _digest(tmp_path / "q2.yuv") != _digest(tmp_path / "blind.yuv")
    decode_file(encoded, tmp_path / "r1.yuv", postfilter=str(quality_stage), realism=1.0)
    assert _digest(tmp_path / "r1.yuv") != _digest(tmp_path / "q1.yuv")


def test_the_restorer_refuses_a_frame_without_its_quality(quality_stage):
    import numpy as np

    from gancodec.enhance.infer import WindowedRestorer
    from gancodec.enhance.weights import load_enhancer
    from gancodec.models.yuv import YuvFrame

    net, _ = load_enhancer("cpu", str(quality_stage), 0.0)
    frame = YuvFrame(np.zeros((32, 32), np.uint8), np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match="coding quality"):
        WindowedRestorer(net).push(frame)
    assert WindowedRestorer(net).push(frame, 4.0) == []  # the window's first frame: nothing out yet
