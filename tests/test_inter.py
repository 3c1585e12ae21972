"""P-frames: block motion, the vector coding, and the closed loop between encoder and decoder."""

from __future__ import annotations

import numpy as np
import pytest

from gancodec.models import motion
from gancodec.models.yuv import YuvFrame


def _texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random texture (so that motion is unambiguous), uint8."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(1, 1, height // 4 + 2, width // 4 + 2, generator=g)
    smooth = F.interpolate(noise, size=(height + 8, width + 8), mode="bicubic", align_corners=False)
    return (smooth[0, 0, 4:-4, 4:-4].clamp(0, 1) * 255).round().byte().numpy()


def test_integer_vectors_copy_shifted_blocks():
    ref = _texture(48, 64)
    mv = np.zeros((3, 4, 2), np.int32)
    mv[1, 2] = (2 * 3, 2 * -2)  # block (row 1, col 2) looks 3 right, 2 up, in half-pel units
    pred = motion.compensate(ref, mv, 16, 2)
    assert np.array_equal(pred[16:32, 32:48], ref[14:30, 35:51])
    assert np.array_equal(pred[:16], ref[:16])  # zero vectors copy


def test_half_pel_is_the_rounded_average():
    ref = np.array([[0, 10, 20, 30]] * 4, np.uint8)
    pred = motion.compensate(ref, np.array([[[1, 0]]], np.int32), 4, 2)
    assert pred[0].tolist() == [5, 15, 25, 30]  # (a + b + 1) // 2, edge clamped at the right
    quarter = motion.compensate(ref, np.array([[[1, 0]]], np.int32), 4, 4)
    assert quarter[0].tolist() == [3, 13, 23, 30]  # (3a + b + 2) // 4


def _bilinear(plane: np.ndarray, px: np.ndarray, py: np.ndarray, denom: int) -> np.ndarray:
    """Reference for the bitstream's interpolation rule, pixel by pixel (docs/bitstream.md)."""
    h, w = plane.shape
    out = np.empty(px.shape, np.uint8)
    for i, (x, y) in enumerate(zip(px.ravel().tolist(), py.ravel().tolist())):
        ix, fx, iy, fy = x // denom, x % denom, y // denom, y % denom
        p = lambda yy, xx: int(plane[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)])
        top = p(iy, ix) * (denom - fx) + p(iy, ix + 1) * fx
        bottom = p(iy + 1, ix) * (denom - fx) + p(iy + 1, ix + 1) * fx
        out.flat[i] = (top * (denom - fy) + bottom * fy + denom * denom // 2) // (denom * denom)
    return out


@pytest.mark.parametrize("denom", [2, 4])
def test_subpel_plane_samples_the_bilinear_rule_everywhere(denom):
    plane = np.random.default_rng(denom).integers(0, 256, (7, 9), dtype=np.uint8)
    grid = motion.SubpelPlane(plane, denom)
    px, py = np.meshgrid(np.arange(-3 * denom, 12 * denom), np.arange(-3 * denom, 10 * denom))
    assert np.array_equal(grid.sample(px, py), _bilinear(plane, px, py, denom))  # edges extend


def _sharp(plane: np.ndarray, px: np.ndarray, py: np.ndarray, denom: int) -> np.ndarray:
    """Reference for the sharp rule, pixel by pixel: HEVC's separable filters (docs/bitstream.md),
    the horizontal pass at full precision, then the vertical one, (sum + 2048) >> 12, clipped."""
    taps = [motion.LUMA_TAPS[p * 4 // denom] for p in range(denom)] if denom <= 4 else motion.CHROMA_TAPS
    n = len(taps[0])
    h, w = plane.shape
    p = lambda yy, xx: int(plane[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)])
    out = np.empty(px.shape, np.uint8)
    for i, (x, y) in enumerate(zip(px.ravel().tolist(), py.ravel().tolist())):
        ix, fx, iy, fy = x // denom, x % denom, y // denom, y % denom
        rows = [sum(c * p(iy + j - n // 2 + 1, ix + k - n // 2 + 1) for k, c in enumerate(taps[fx])) for j in range(n)]
        total = sum(c * r for c, r in zip(taps[fy], rows))
        out.flat[i] = min(max((total + 2048) >> 12, 0), 255)
    return out


@pytest.mark.parametrize("denom", [4, 8])
def test_sharp_subpel_plane_samples_hevc_filters_everywhere(denom):
    plane = np.random.default_rng(denom).integers(0, 256, (7, 9), dtype=np.uint8)
    grid = motion.SubpelPlane(plane, denom, sharp=True)
    px, py = np.meshgrid(np.arange(-9 * denom, 18 * denom), np.arange(-9 * denom, 16 * denom))
    assert np.array_equal(grid.sample(px, py), _sharp(plane, px, py, denom))  # edges extend, overshoot clips
    whole = grid.up[::denom, ::denom][grid.margin : grid.margin + 7, grid.margin : grid.margin + 9]
    assert np.array_equal(whole, plane)  # whole-pel positions are the plane itself


def test_quarter_pel_estimation_finds_a_quarter_pel_shift():
    """Content moved by 1.25 pixels: quarter-pel vectors with the sharp filters find it, and predict
    it better than the best half-pel bilinear ones."""
    import torch
    import torch.nn.functional as F

    big = torch.from_numpy(_texture(96, 128, seed=5)).float()[None, None]
    up = F.interpolate(big, scale_factor=4, mode="bicubic", align_corners=False)[0, 0]
    ref = up[32:288:4, 32:416:4].round().clamp(0, 255).byte().numpy()
    cur = up[32:288:4, 37:421:4].round().clamp(0, 255).byte().numpy()  # 5 quarter pixels left
    mv = motion.estimate_motion(cur, ref, interpolation=motion.QUARTER_SHARP)
    assert (mv[1:-1, 1:-1].reshape(-1, 2) == (5, 0)).all(axis=1).mean() > 0.9
    errors = {}
    for name, interp in (("quarter", motion.QUARTER_SHARP), ("half", motion.HALF_BILINEAR)):
        vectors = motion.estimate_motion(cur, ref, interpolation=interp)
        pred = motion.compensate(ref, vectors, 16, interp.luma_denom, interp.sharp)
        errors[name] = np.abs(pred[16:-16, 16:-16].astype(int) - cur[16:-16, 16:-16]).mean()
    assert errors["quarter"] < errors["half"]


def test_overlapped_compensation_blends_only_near_block_edges():
    ref = _texture(48, 64)
    uniform = np.tile(np.array([3, -5], np.int32), (3, 4, 1))
    for block, denom, edge in ((16, 2, motion.LUMA_WINDOW), (8, 4, motion.CHROMA_WINDOW)):
        plain = motion.compensate(ref, uniform, block, denom)
        assert np.array_equal(motion.overlapped(ref, uniform, block, denom, edge), plain)
    for block, denom, edge in ((16, 4, motion.LUMA_WINDOW), (8, 8, motion.CHROMA_WINDOW)):
        for vector in ((3, -5), (-700, 901)):  # overlapped interpolates only the phases it uses
            field = np.tile(np.array(vector, np.int32), (3, 4, 1))
            plain = motion.compensate(ref, field, block, denom, sharp=True)  # every phase
            assert np.array_equal(motion.overlapped(ref, field, block, denom, edge, sharp=True), plain)
    mv = np.zeros((3, 4, 2), np.int32)
    mv[1, 1] = (8, 0)  # one block moves 4 pixels
    pred = motion.overlapped(ref, mv, 16, 2, motion.LUMA_WINDOW)
    plain = motion.compensate(ref, mv, 16, 2)
    assert np.array_equal(pred[19:29, 19:29], plain[19:29, 19:29])  # the block's interior: its own vector
    assert not np.array_equal(pred[16:32, 16], plain[16:32, 16])  # its left edge: blended
    assert np.array_equal(pred[:, 40:], ref[:, 40:])  # far from the moving block: untouched


def test_vectors_far_outside_the_frame_are_safe():
    ref = _texture(32, 32)
    pred = motion.compensate(ref, np.full((2, 2, 2), motion.HALF_BILINEAR.mv_limit, np.int32), 16, 2)
    assert np.all(pred == ref[-1, -1])  # the bottom-right corner, edge-extended


def test_estimation_finds_a_global_shift():
    big = _texture(96, 128, seed=3)
    ref, cur = big[8:72, 8:104], big[5:69, 12:108]  # content moves 4 left and 3 down
    mv = motion.estimate_motion(cur, ref)
    inner = mv[1:-1, 1:-1].reshape(-1, 2)
    assert (inner == (8, -6)).all(axis=1).mean() > 0.9  # half-pel units: (4, -3) pixels
    pred = motion.compensate(ref, mv, 16, 2)
    assert np.abs(pred[16:-16, 16:-16].astype(int) - cur[16:-16, 16:-16]).max() == 0


def test_vector_prediction_inverts():
    rng = np.random.default_rng(0)
    mv = rng.integers(-40, 40, size=(5, 7, 2))
    assert np.array_equal(motion.vectors_from_differences(mv - motion.predict_vectors(mv)), mv)


@pytest.fixture(scope="module")
def model():
    from gancodec.models.registry import DEFAULT_MODEL, load_model

    return load_model(DEFAULT_MODEL, "cpu")[0]


def test_vector_stream_round_trip(model):
    from gancodec.entropy import decode_vectors, encode_vectors

    rng = np.random.default_rng(1)
    diff = np.concatenate([rng.integers(-3, 4, (6, 9, 1)), rng.integers(-300, 300, (6, 9, 1))], -1)
    stream = encode_vectors(diff, model.rans_tables())
    assert np.array_equal(decode_vectors(stream, 6, 9, model.rans_tables()), diff)
    zeros = encode_vectors(np.zeros((6, 9, 2), np.int64), model.rans_tables())
    assert len(zeros) < len(stream) // 4


def _frames(count: int, width: int = 64, height: int = 48) -> list[YuvFrame]:
    big = [_texture(2 * height, 2 * width, seed=s) for s in range(3)]
    out = []
    for i in range(count):
        y = big[0][10 + i : 10 + i + height, 20 - 2 * i : 20 - 2 * i + width]
        u = big[1][:: 2, :: 2][: height // 2, : width // 2]
        v = big[2][:: 2, :: 2][: height // 2, : width // 2]
        out.append(YuvFrame(np.ascontiguousarray(y), np.ascontiguousarray(u), np.ascontiguousarray(v)))
    return out


def _subpel_frames(count: int, step: int = 5) -> list[YuvFrame]:
    """64x48 frames of a smooth texture moving `step` quarter pixels (1.25 pixels) left per frame."""
    import torch
    import torch.nn.functional as F

    big = torch.from_numpy(_texture(96, 128, seed=5)).float()[None, None]
    up = F.interpolate(big, scale_factor=4, mode="bicubic", align_corners=False)[0, 0]
    out = []
    for i in range(count):
        y = up[32 : 32 + 192 : 4, 32 + step * i : 32 + step * i + 256 : 4].round().clamp(0, 255).byte().numpy()
        chroma = np.ascontiguousarray(y[::2, ::2])
        out.append(YuvFrame(np.ascontiguousarray(y), chroma, 255 - chroma))
    return out


def test_the_closer_prediction_is_chosen():
    """Sub-pel motion: quarter-pel sharp predicts better and is chosen; a still picture is
    predicted exactly both ways and the tie goes to half-pel bilinear (the first)."""
    both = (motion.HALF_BILINEAR, motion.QUARTER_SHARP)
    subpel = _subpel_frames(2)
    interpolation, _, predicted = motion.best_prediction(subpel[1], subpel[0], 0.0, both)
    assert interpolation == motion.QUARTER_SHARP
    _, _, half = motion.best_prediction(subpel[1], subpel[0], 0.0, both[:1])
    assert motion.plane_mse(subpel[1], predicted) < motion.plane_mse(subpel[1], half)
    still = _subpel_frames(1) * 2
    assert motion.best_prediction(still[1], still[0], 0.0, both)[0] == motion.HALF_BILINEAR


@pytest.mark.parametrize("quality", [5.0, 2.0])
def test_encoder_and_decoder_reconstruct_the_same_frames(model, quality):
    """P-frames of either kind ("P": half-pel bilinear, "Pq": quarter-pel sharp): the decoder
    rebuilds the encoder's reference exactly."""
    from gancodec.models.inter import FRAME_TYPE_I, FRAME_TYPE_P, FRAME_TYPE_PQ, VideoCoder

    frames = _frames(5)
    encoder = VideoCoder(model, 64, 48, gop=3)
    coded, references = [], []
    for i, frame in enumerate(frames):
        coded.append(encoder.encode(frame, i, quality))
        references.append(encoder.reference)
    kinds = [FRAME_TYPE_I if c.kind == FRAME_TYPE_I else "any P" for c in coded]
    assert kinds == [FRAME_TYPE_I, "any P", "any P", FRAME_TYPE_I, "any P"]
    assert {c.kind for c in coded} <= {FRAME_TYPE_I, FRAME_TYPE_P, FRAME_TYPE_PQ}
    decoder = VideoCoder(model, 64, 48, gop=3)
    for c, ref in zip(coded, references):
        out = decoder.decode(c, quality)
        assert all(np.array_equal(a, b) for a, b in zip(out, ref))
    # moving texture: the P-frames cost less than the I-frames around them
    sizes = [sum(len(s) for s in c.streams) for c in coded]
    assert max(sizes[1], sizes[2], sizes[4]) < min(sizes[0], sizes[3])


def test_a_format_2_decoder_refuses_pq_frames_and_a_format_2_encoder_writes_none(model):
    from gancodec.models.inter import FRAME_TYPE_P, FRAME_TYPE_PQ, VideoCoder

    frames = _subpel_frames(2)
    encoder = VideoCoder(model, 64, 48, gop=4, scene_cuts=False)
    coded = [encoder.encode(f, i, 6.0) for i, f in enumerate(frames)]
    assert coded[1].kind == FRAME_TYPE_PQ
    new = VideoCoder(model, 64, 48, gop=4)
    new.decode(coded[0], 6.0)
    assert all(np.array_equal(a, b) for a, b in zip(new.decode(coded[1], 6.0), encoder.reference))
    old = VideoCoder(model, 64, 48, gop=4, sharp_motion=False)
    old.decode(coded[0], 6.0)
    with pytest.raises(ValueError, match="unknown frame type"):
        old.decode(coded[1], 6.0)
    encoder = VideoCoder(model, 64, 48, gop=4, scene_cuts=False, sharp_motion=False)
    assert [encoder.encode(f, i, 6.0).kind for i, f in enumerate(frames)][1] == FRAME_TYPE_P


def test_frames_are_padded_to_the_latent_grid_and_old_streams_to_64(model):
    """Format 2.0 pads an 80x48 frame to 80x48 (5x3 latents under 2x1 hyper-latents) and spends
    fewer bits than format 1.x's 128x64; each decodes with its own grid to the encoder's pixels."""
    from gancodec.api import pad_multiple_for
    from gancodec.bitstream import StreamHeader
    from gancodec.models.inter import VideoCoder

    header = StreamHeader(80, 48, 30, "gc-intra-hp", bytes(32), 4.0)
    assert pad_multiple_for(header, model) == 16
    header.version = (1, 1)
    assert pad_multiple_for(header, model) == 64
    frames, sizes = _frames(3, 80, 48), {}
    for multiple, y_shape in ((16, (3, 5)), (64, (4, 8))):
        encoder = VideoCoder(model, 80, 48, gop=3, pad_multiple=multiple)
        decoder = VideoCoder(model, 80, 48, gop=3, pad_multiple=multiple)
        assert (encoder.y_shape, encoder.z_shape) == (y_shape, (1, 2))
        sizes[multiple] = 0
        for i, frame in enumerate(frames):
            coded = encoder.encode(frame, i, 6.0)
            sizes[multiple] += sum(len(s) for s in coded.streams)
            out = decoder.decode(coded, coded.quality)
            assert all(np.array_equal(a, b) for a, b in zip(out, encoder.reference))
    assert sizes[16] < sizes[64]


def test_i_frames_are_boosted_and_the_decoder_uses_each_frame_s_quality(model):
    """With P-frames to follow, an I-frame is coded intra_boost higher (at most 8); all-intra is not
    boosted; decoding each frame at the quality its CodedFrame carries gives the encoder's pixels."""
    from gancodec.models.inter import FRAME_TYPE_I, VideoCoder

    frames = _frames(4)
    for quality, intra_quality in ((5.0, 6.5), (7.2, 8.0)):
        encoder = VideoCoder(model, 64, 48, gop=3, intra_boost=1.5)
        decoder = VideoCoder(model, 64, 48, gop=3)
        for i, frame in enumerate(frames):
            coded = encoder.encode(frame, i, quality)
            assert coded.quality == (intra_quality if coded.kind == FRAME_TYPE_I else quality)
            out = decoder.decode(coded, coded.quality)
            assert all(np.array_equal(a, b) for a, b in zip(out, encoder.reference))
    assert VideoCoder(model, 64, 48, gop=1, intra_boost=1.5).encode(frames[0], 0, 5.0).quality == 5.0


def _cut_frames() -> list[YuvFrame]:
    """Eight frames of moving texture with a scene cut before frame 3 (another texture)."""
    first = _frames(8)
    other = [YuvFrame(np.ascontiguousarray(255 - f.y[::-1]), f.v, f.u) for f in _frames(8)]
    return first[:3] + other[3:]


def test_a_scene_cut_becomes_an_i_frame_and_restarts_the_intra_period(model):
    from gancodec.models.inter import FRAME_TYPE_I as I
    from gancodec.models.inter import FRAME_TYPE_P as P  # either kind of P-frame counts as P here
    from gancodec.models.inter import VideoCoder

    frames = _cut_frames()
    encoder, decoder = VideoCoder(model, 64, 48, gop=4), VideoCoder(model, 64, 48, gop=4)
    coded = [encoder.encode(f, i, 4.0) for i, f in enumerate(frames)]
    assert [I if c.kind == I else P for c in coded] == [I, P, P, I, P, P, P, I]  # the cut at 3, then 3 + 4
    for c in coded:  # the decoder follows the record types
        decoder.decode(c, 4.0)
    assert all(np.array_equal(a, b) for a, b in zip(decoder.reference, encoder.reference))
    plain = VideoCoder(model, 64, 48, gop=4, scene_cuts=False)
    kinds = [plain.encode(f, i, 4.0).kind for i, f in enumerate(frames)]
    assert [I if k == I else P for k in kinds] == [I, P, P, P, I, P, P, P]


def test_p_frame_without_reference_is_refused(model):
    from gancodec.models.inter import FRAME_TYPE_P, CodedFrame, VideoCoder

    with pytest.raises(ValueError, match="reference"):
        VideoCoder(model, 64, 48, gop=4).decode(CodedFrame(FRAME_TYPE_P, [b"\0\0", b"", b""]), 4.0)


def test_gop_one_writes_only_i_frames_and_larger_gops_mix(clip, tmp_path):
    import io

    from gancodec.api import encode_file
    from gancodec.bitstream import FRAME_I, FRAME_P, GcvReader

    for gop, types in ((1, [FRAME_I] * 4), (2, [FRAME_I, FRAME_P] * 2), (32, [FRAME_I] + [FRAME_P] * 3)):
        out = tmp_path / f"g{gop}.gcv"
        encode_file(clip, out, quality=4, gop=gop)
        reader = GcvReader(io.BytesIO(out.read_bytes()))
        assert reader.header.gop == gop
        assert [FRAME_I if r.type == FRAME_I else FRAME_P for r in reader.frames()] == types  # P or Pq


def test_encoder_psnr_is_what_the_decoder_shows(clip, tmp_path):
    from gancodec.api import decode_file, encode_file
    from gancodec.io import VideoReader
    from gancodec.metrics import frame_psnr

    summary = encode_file(clip, tmp_path / "s.gcv", quality=3, measure_psnr=True, gop=8)
    decode_file(tmp_path / "s.gcv", tmp_path / "s.yuv", postfilter="off")  # the reconstruction itself
    with VideoReader(clip) as src, VideoReader(tmp_path / "s.yuv", size=(64, 64), fps=30) as dec:
        psnrs = [frame_psnr(a, b).y for a, b in zip(src.frames(), dec.frames())]
    assert summary.psnr_y == pytest.approx(sum(psnrs) / len(psnrs), abs=1e-9)


def test_bad_gop_is_a_usage_error(clip, tmp_path):
    from gancodec.api import encode_file
    from gancodec.errors import UsageError

    with pytest.raises(UsageError, match="--gop"):
        encode_file(clip, tmp_path / "x.gcv", gop=0)
    assert not (tmp_path / "x.gcv").exists()


def test_streams_carry_the_boosted_i_frame_quality(clip, tmp_path):
    import io

    from click.testing import CliRunner

    from gancodec.api import encode_file
    from gancodec.bitstream import GcvReader
    from gancodec.cli import encode, main
    from gancodec.models.inter import DEFAULT_INTRA_BOOST

    for boost, expected in ((1.5, [5.5, 4.0, 5.5, 4.0]), (0.0, [4.0] * 4)):
        out = tmp_path / f"b{boost}.gcv"
        encode_file(clip, out, quality=4, gop=2, intra_boost=boost, p_offsets=(0.0,))
        assert [r.quality for r in GcvReader(io.BytesIO(out.read_bytes())).frames()] == expected
    info = CliRunner().invoke(main, ["info", str(tmp_path / "b1.5.gcv")])
    assert "quality   4 (I-frames +1.5, at most 8)" in info.output
    assert next(p.default for p in encode.params if p.name == "intra_boost") == DEFAULT_INTRA_BOOST


def test_p_frames_follow_the_offset_pattern_and_decode_at_their_quality(model):
    """P-frames are coded at quality + the pattern's offset for their place after the I-frame
    (cyclically, kept in [1, 8]); the pattern restarts at every I-frame; all intra, nothing changes;
    the decoder, at each frame's own quality, gives the encoder's pixels."""
    from gancodec.models.inter import VideoCoder

    frames = _frames(8)
    encoder = VideoCoder(model, 64, 48, gop=6, intra_boost=1.5, scene_cuts=False, p_offsets=(-1.0, 0.5))
    decoder = VideoCoder(model, 64, 48, gop=6)
    qualities = []
    for i, frame in enumerate(frames):
        coded = encoder.encode(frame, i, 4.0)
        qualities.append(coded.quality)
        out = decoder.decode(coded, coded.quality)
        assert all(np.array_equal(a, b) for a, b in zip(out, encoder.reference))
    assert qualities == [5.5, 3.0, 4.5, 3.0, 4.5, 3.0, 5.5, 3.0]
    low = VideoCoder(model, 64, 48, gop=6, p_offsets=(-1.0,))
    assert [low.encode(f, i, 1.5).quality for i, f in enumerate(frames[:2])] == [1.5, 1.0]  # the floor
    intra = VideoCoder(model, 64, 48, gop=1, p_offsets=(-1.0,))
    assert [intra.encode(f, i, 4.0).quality for i, f in enumerate(frames[:2])] == [4.0, 4.0]


def test_streams_carry_the_p_frame_offsets(clip, tmp_path):
    import io

    from click.testing import CliRunner

    from gancodec.bitstream import GcvReader
    from gancodec.cli import encode, main
    from gancodec.models.inter import DEFAULT_P_OFFSETS

    out = tmp_path / "o.gcv"
    args = ["encode", str(clip), "-o", str(out), "--quality", "4", "--gop", "4", "--p-offsets", "-1,+0.5", "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert [r.quality for r in GcvReader(io.BytesIO(out.read_bytes())).frames()] == [5.5, 3.0, 4.5, 3.0]
    info = CliRunner().invoke(main, ["info", str(out)])
    assert "quality   4 (I-frames +1.5, at most 8; P-frames -1,+0.5 cyclically)" in info.output
    default = next(p.default for p in encode.params if p.name == "p_offsets")
    assert tuple(float(v) for v in default.split(",")) == DEFAULT_P_OFFSETS
    for bad in ("-1,x", "9", ""):
        result = CliRunner().invoke(main, ["encode", str(clip), "-o", str(tmp_path / "b.gcv"), "--p-offsets", bad])
        assert result.exit_code != 0 and "--p-offsets" in result.output and "Traceback" not in result.output
        assert not (tmp_path / "b.gcv").exists()


def test_bad_intra_boost_is_a_usage_error(clip, tmp_path):
    from gancodec.api import encode_file
    from gancodec.errors import UsageError

    with pytest.raises(UsageError, match="--intra-boost"):
        encode_file(clip, tmp_path / "x.gcv", intra_boost=-1)
    assert not (tmp_path / "x.gcv").exists()
