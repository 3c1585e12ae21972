"""Training the restoration network on video damaged by x264 / x265 / SVT-AV1.

Data: every training clip is compressed (through PyAV, low delay, GOP 32) a few times with a
random codec and a random CRF in [crf_min, crf_max] (and, with `rescale`, first downscaled by a random
factor: the same scenes at a finer scale, since the sources are few); the decoded frames and the
originals are held in memory. A still image (e.g. Kodak) becomes a clip by a random camera pan across it, so its
content is coded with real motion-compensated (P-frame) artefacts. A sample is a window of 3 consecutive decoded frames (clamped at the ends, like
inference) cropped at one place, and the original middle frame as the target.
Where PyAV is missing (a lent GPU machine), the data can instead be windows exported beforehand by
export_pairs() (`gancodec export-pairs`): .npz files of 3 decoded frames and the original middle
frame, cropped to a fixed size, so that a useful pool fits in the few MiB that travel.
Loss: the mean over samples of 10*log10(MSE_YUV 6:1:1), i.e. minus the mean PSNR -- the fidelity
stage; the GAN stage comes later. A plain MSE loss is dominated by the most damaged crops (high
CRF): trained with it, the network improved those and degraded lightly compressed ones, so the mean
PSNR gain went negative (-0.2 dB after 1,800 steps). The log makes every crop count by its dB.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable

import numpy as np
import torch

from gancodec.enhance.net import (
    EnhanceConfig,
    EnhanceNet,
    quality_value,
    with_more_blocks,
    with_quality_input,
)
from gancodec.models.yuv import PACKED_CHANNELS, YuvFrame, pack_planes, yuv_distortion
from gancodec.train.loop import TrainConfig, Trainer

DEFAULT_TASK = {"codecs": ["x264", "x265", "svtav1"], "crf_min": 22, "crf_max": 45,
                "quality_min": 1.0, "quality_max": 8.0, "gops": [32], "clip_size": 0,
                "conditions_per_clip": 3, "frames_per_clip": 30, "rescale": [1.0], "transpose": False,
                "random_segment": False, "redraw_minutes": 0.0, "still_frames": 0,
                "still_conditions": 0}  # fmt: skip
CRF_SCALE = {"x264": 1.0, "x265": 1.0, "svtav1": 63 / 51}  # SVT-AV1's CRF runs to 63
OWN_CODEC = "gancodec"  # our own codec: the decoder's restoration stage learns its artefacts


def _planes(frame: YuvFrame, top: int, left: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The size x size luma crop at (top, left) (both even) and its chroma, as floats in [0, 1]."""
    y = frame.y[top : top + size, left : left + size]
    c = (slice(top // 2, (top + size) // 2), slice(left // 2, (left + size) // 2))
    uv = np.stack([frame.u[c], frame.v[c]])
    return torch.from_numpy(y.astype(np.float32))[None] / 255.0, torch.from_numpy(
        uv.astype(np.float32)
    ) / 255.0


PAN_MARGIN = 32  # luma pixels cut from each side of a still: the room the pan moves in
PAN_SPEED = 2.0  # most luma pixels per frame along each axis


def panned_clip(still: YuvFrame, frames: int, rng: np.random.Generator) -> list[YuvFrame]:
    """`frames` crops of a still, moving at a random constant velocity that bounces off the edges.

    Offsets are even, so the chroma planes move with the luma exactly (4:2:0).
    """
    h, w = still.y.shape
    m = PAN_MARGIN
    if min(h, w) <= 4 * m:
        return [still]
    ch, cw = (h - 2 * m) // 2 * 2, (w - 2 * m) // 2 * 2
    position = np.array([m, m], dtype=np.float64)
    velocity = rng.uniform(-PAN_SPEED, PAN_SPEED, size=2)
    clip = []
    for _ in range(frames):
        top, left = (round(p / 2) * 2 for p in position)
        c = (slice(top // 2, (top + ch) // 2), slice(left // 2, (left + cw) // 2))
        clip.append(
            YuvFrame(still.y[top : top + ch, left : left + cw].copy(), still.u[c].copy(), still.v[c].copy())
        )
        position += velocity
        for axis in range(2):  # bounce inside [0, 2m]
            if not 0 <= position[axis] <= 2 * m:
                velocity[axis] = -velocity[axis]
                position[axis] = min(max(position[axis], 0), 2 * m)
    return clip


def rescaled(frame: YuvFrame, factor: float) -> YuvFrame:
    """The frame downscaled by `factor` (<= 1; area averaging, even luma size), as uint8 planes.

    Scale augmentation: the same content at a smaller scale has finer detail per pixel, which the
    few training sources otherwise show at one scale only."""
    h, w = (max(2, round(d * factor / 2) * 2) for d in frame.y.shape)
    if (h, w) == frame.y.shape:
        return frame

    def resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        t = torch.from_numpy(plane.astype(np.float32))[None, None]
        out = torch.nn.functional.interpolate(t, size=size, mode="area")[0, 0]
        return out.round().clamp(0, 255).to(torch.uint8).numpy()

    return YuvFrame(resize(frame.y, (h, w)), resize(frame.u, (h // 2, w // 2)), resize(frame.v, (h // 2, w // 2)))


def segment(frames: list, length: int, rng: np.random.Generator | None) -> list:
    """`length` consecutive frames: the first ones, or (given an rng) from a random start."""
    start = int(rng.integers(len(frames) - length + 1)) if rng is not None and len(frames) > length else 0
    return frames[start : start + length]


def cropped_clip(frames: list[YuvFrame], size: int, rng: np.random.Generator) -> list[YuvFrame]:
    """The clip cut to at most size x size luma pixels at one random place (even offsets).

    Our own codec codes a 720p frame in seconds on a CPU; the network trains on small crops, so a
    crop of the clip teaches it as much for a fraction of the coding time."""
    h, w = frames[0].y.shape
    ch, cw = min(h, size) // 2 * 2, min(w, size) // 2 * 2
    if (ch, cw) == (h, w):
        return frames
    top, left = 2 * int(rng.integers((h - ch) // 2 + 1)), 2 * int(rng.integers((w - cw) // 2 + 1))
    c = (slice(top // 2, (top + ch) // 2), slice(left // 2, (left + cw) // 2))
    return [YuvFrame(f.y[top : top + ch, left : left + cw], f.u[c], f.v[c]) for f in frames]


def own_codec_roundtrip(frames: list[YuvFrame], quality: float, gop: int) -> tuple[list[YuvFrame], list[float]]:
    """What gancodec's decoder reconstructs from the clip coded at `quality` with intra period `gop`
    and the encoder's other defaults (boosted I-frames, P-frame offsets), and each frame's coded
    quality: the real coder, entropy coding included, so the artefacts are the ones users get."""
    from gancodec.models.inter import DEFAULT_INTRA_BOOST, DEFAULT_P_OFFSETS, VideoCoder
    from gancodec.models.registry import load_model

    model, _ = load_model()
    h, w = frames[0].y.shape
    coder = VideoCoder(model, w, h, gop, intra_boost=DEFAULT_INTRA_BOOST, p_offsets=DEFAULT_P_OFFSETS)
    decoded, qualities = [], []
    for index, frame in enumerate(frames):
        qualities.append(coder.encode(frame, index, quality, reconstruct=True).quality)
        decoded.append(coder.reference)
    return decoded, qualities


def _condition(task: dict, rng: np.random.Generator) -> tuple[str, float]:
    """A random (codec, CRF) -- for our own codec (codec, quality)."""
    codec = str(rng.choice(task["codecs"]))
    if codec == OWN_CODEC:
        from gancodec.bitstream import recorded_quality

        return codec, recorded_quality(float(rng.uniform(task["quality_min"], task["quality_max"])))
    return codec, round(float(rng.uniform(task["crf_min"], task["crf_max"])) * CRF_SCALE[codec])


def compressed_clips(cfg: TrainConfig, task: dict, rng: np.random.Generator):
    """Yields (source path, codec, crf, original frames, decoded frames, each decoded frame's coding
    quality or None) for every training clip and
    each of its `conditions_per_clip` random conditions (codec, CRF, and a downscaling factor drawn
    from task["rescale"] where that leaves the clip at least a crop in size); stills become panned
    clips. With task["random_segment"], a clip longer than `frames_per_clip` gives a segment from a
    random start (one per clip and draw) instead of its first frames. A still's pan lasts
    task["still_frames"] frames and gets task["still_conditions"] conditions (0: as a video clip): a
    large set of stills brings varied content, and short pans with few conditions a draw keep it from
    costing the draw's time and memory or crowding out the real motion of the video clips (samples
    pick clips evenly)."""
    from gancodec.bench.baselines import decode_stream, encode_frames  # PyAV: imported on use
    from gancodec.io import VideoReader

    paths = sorted(p for pattern in cfg.data for p in glob.glob(os.path.expanduser(pattern)))
    for path in (p for p in paths if not p.endswith(".npz")):  # exported windows are not sources
        with VideoReader(path) as reader:
            original = list(reader.frames(limit=None if task["random_segment"] else task["frames_per_clip"]))
            fps = reader.fps
        original = segment(original, task["frames_per_clip"], rng if task["random_segment"] else None)
        still = len(original) == 1
        if still:
            original = panned_clip(original[0], task["still_frames"] or task["frames_per_clip"], rng)
        if not original or min(original[0].y.shape) < cfg.crop:
            continue
        conditions = task["still_conditions"] if still and task["still_conditions"] else task["conditions_per_clip"]
        for _ in range(conditions):
            codec, crf = _condition(task, rng)
            factor = float(rng.choice(task["rescale"]))
            source = original
            if factor < 1 and min(original[0].y.shape) * factor >= cfg.crop:
                source = [rescaled(f, factor) for f in original]
            if task["clip_size"]:
                source = cropped_clip(source, max(task["clip_size"], cfg.crop), rng)
            if codec == OWN_CODEC:
                gop = int(rng.choice(task["gops"]))
                yield path, codec, crf, source, *own_codec_roundtrip(source, crf, gop)
                continue
            h, w = source[0].y.shape
            stream = encode_frames(codec, source, w, h, fps, crf, gop=32)
            yield path, codec, crf, source, list(decode_stream(stream)), None


WINDOW_KEYS = ("dec_y", "dec_u", "dec_v", "org_y", "org_u", "org_v")
QUALITY_KEY = "dec_q"  # (windows, 3) coding qualities of the decoded frames: NaN where unknown (x264 ...)


def export_pairs(
    cfg: TrainConfig, out_dir: str | os.PathLike, windows: int = 4, size: int = 256, seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[str]:
    """Writes, per training source, `windows` random windows of each compressed clip (3 decoded
    frames and the original middle one, size x size luma) as one .npz; returns the paths.

    For training where PyAV is missing: EnhanceTrainer reads these files like clips, cropping
    cfg.crop inside each window. Frames at the clip ends are not drawn (no clamped windows).
    A clip smaller than `size` (e.g. downscaled) gives smaller windows, kept in a file of their own
    ("NAME-S.npz") since a file stacks windows of one size. Each source's files are written as soon
    as its clips are done, so an interrupted export keeps them. `log` hears of each compressed clip
    (coding with our own codec takes minutes).
    """
    task = {**DEFAULT_TASK, **cfg.task}
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []
    current, by_size = None, {}  # the source being collected: {window size: {key: [arrays]}}
    for path, codec, crf, original, decoded, qualities in compressed_clips(cfg, task, rng):
        if path != current:
            written += _write_windows(out_dir, current, by_size, size)
            current, by_size = path, {}
        if log:
            log(f"{os.path.basename(path)}: {codec} {crf:g}, {len(original)} frames {original[0].width}x{original[0].height}")
        h, w = original[0].y.shape
        s = min(size, h // 2 * 2, w // 2 * 2)
        if len(original) < 3 or s < cfg.crop:
            continue
        arrays = by_size.setdefault(s, {k: [] for k in (*WINDOW_KEYS, QUALITY_KEY)})
        for _ in range(windows):
            t = int(rng.integers(1, len(original) - 1))
            top, left = 2 * rng.integers((h - s) // 2 + 1), 2 * rng.integers((w - s) // 2 + 1)
            luma = (slice(top, top + s), slice(left, left + s))
            chroma = (slice(top // 2, (top + s) // 2), slice(left // 2, (left + s) // 2))
            for plane, region in (("y", luma), ("u", chroma), ("v", chroma)):
                arrays[f"dec_{plane}"].append(np.stack([getattr(f, plane)[region] for f in decoded[t - 1 : t + 2]]))
                arrays[f"org_{plane}"].append(getattr(original[t], plane)[region])
            known = qualities[t - 1 : t + 2] if qualities else [float("nan")] * 3
            arrays[QUALITY_KEY].append(np.array(known, dtype=np.float32))
    return written + _write_windows(out_dir, current, by_size, size)


def _write_windows(out_dir, source: str | None, by_size: dict[int, dict[str, list[np.ndarray]]], size: int) -> list[str]:
    """One source's windows as .npz files, one per window size; returns their paths."""
    written = []
    for s, arrays in sorted(by_size.items()):
        stem = os.path.splitext(os.path.basename(source))[0] + ("" if s == size else f"-{s}")
        out = os.path.join(out_dir, stem + ".npz")
        np.savez_compressed(out, **{k: np.stack(v) for k, v in arrays.items()})
        written.append(out)
    return written


def _load_window_arrays(path: str) -> dict[str, np.ndarray]:
    """An export_pairs() file -> its arrays (WINDOW_KEYS, and QUALITY_KEY: NaN in files written before
    0.17.0), each with the window as first axis."""
    with np.load(path) as a:
        arrays = {k: a[k] for k in WINDOW_KEYS}
        arrays[QUALITY_KEY] = a[QUALITY_KEY] if QUALITY_KEY in a else np.full((len(a["org_y"]), 3), np.nan, np.float32)
    return arrays


def _windows_as_pairs(arrays: dict[str, np.ndarray]) -> list[tuple[list, list, list[int], list[float]]]:
    """An export_pairs() file's arrays -> pairs (originals, decoded, the one index to restore, the
    decoded frames' qualities)."""
    pairs = []
    for i in range(len(arrays["org_y"])):
        decoded = [YuvFrame(*(arrays[f"dec_{p}"][i, j] for p in "yuv")) for j in range(3)]
        target = YuvFrame(*(arrays[f"org_{p}"][i] for p in "yuv"))
        pairs.append(([target, target, target], decoded, [1], [float(q) for q in arrays[QUALITY_KEY][i]]))
    return pairs


def with_quality_planes(window: torch.Tensor, qualities: torch.Tensor) -> torch.Tensor:
    """window (B,T,6,h,w) and its frames' coding qualities (B,T) -> (B,T,7,h,w) with quality planes."""
    if torch.isnan(qualities).any():
        raise ValueError("a network with quality planes trains on frames of known quality (our own codec's)")
    planes = quality_value(qualities)[..., None, None, None].expand(*window.shape[:2], 1, *window.shape[-2:])
    return torch.cat([window, planes.to(window)], dim=2)


class EnhanceTrainer(Trainer):
    def build(self) -> None:
        self.model = EnhanceNet(EnhanceConfig(**self.cfg.model)).to(self.device)
        self.optimizers = {"optimizer": torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr)}
        self.task = {**DEFAULT_TASK, **self.cfg.task}
        self.rng = np.random.default_rng(self.cfg.seed)
        self.pairs: list[tuple[list, list, list[int], list[float]]] = []
        # exported windows: (its file's arrays, its row) per pair, so that batches are cut in numpy
        self.windows: list[tuple[dict[str, np.ndarray], int]] | None = None

    def init_from_weights(self, path: str) -> None:
        """Starts from a weights file's fidelity network; a blind one (no quality planes) is grown
        to take them when this config has quality_input (enhance/net.py with_quality_input), and
        a shallower one to this config's body blocks (with_more_blocks)."""
        from gancodec.models.registry import load_state_dict_file

        state, _ = load_state_dict_file(path)
        state = {k: v for k, v in state.items() if not k.startswith("realism.")}
        config = self.model.config
        if config.quality_input and state["head.0.weight"].shape[1] == PACKED_CHANNELS * config.window:
            state = with_quality_input(state, config.window)
            self.log("grown: quality planes added (zero weights) to the blind network")
        fresh = self.model.state_dict()
        if len(fresh) > len(state):
            state = with_more_blocks(state, fresh)
            self.log(f"grown: the body deepened to {config.blocks} blocks (the new ones start as the identity)")
        self.model.load_state_dict(state)
        self.log(f"initialised from weights {path}")

    def prepare_data(self) -> None:
        """self.pairs: (original frames, decoded frames, the indexes a sample may restore, the decoded
        frames' coding qualities: NaN where unknown)."""
        self.rng = np.random.default_rng(self.cfg.seed + self.step)  # new conditions on every resume
        self.drawn_at = time.monotonic()
        exported = sorted(
            p for pattern in self.cfg.data for p in glob.glob(os.path.expanduser(pattern)) if p.endswith(".npz")
        )
        self.windows = None
        if exported:
            self.pairs, self.windows = [], []
            for path in exported:
                arrays = _load_window_arrays(path)
                self.pairs += _windows_as_pairs(arrays)
                self.windows += [(arrays, row) for row in range(len(arrays["org_y"]))]
            self.log(f"data: {len(self.pairs)} exported windows from {len(exported)} files")
            return
        self.pairs = [
            (original, decoded, list(range(len(original))), qualities or [float("nan")] * len(decoded))
            for _, _, _, original, decoded, qualities in compressed_clips(self.cfg, self.task, self.rng)
        ]
        frames = sum(len(pair[0]) for pair in self.pairs)
        self.log(f"data: {len(self.pairs)} compressed clips, {frames} frames")

    def after_step(self) -> None:
        """With task["redraw_minutes"], new compressions (conditions, segments) every so often: the
        sources are few, so a long run otherwise sees one draw of them, which it starts to learn by heart."""
        minutes = self.task["redraw_minutes"]
        if minutes and self.windows is None and time.monotonic() - self.drawn_at > minutes * 60:
            self.pairs = []  # free the old draw before the new one is built
            self.prepare_data()

    def _draw(self) -> tuple[int, int, int, int, list[int], bool, bool]:
        """One sample's random choices: pair, frame to restore, crop corner (even), mirrored axes,
        window reversal, transposition (with task["transpose"]: the 8 flips and rotations of the
        square crop instead of 4). Augmentation because the training set is small."""
        index = int(self.rng.integers(len(self.pairs)))
        original, _, restorable, _ = self.pairs[index]
        t = restorable[int(self.rng.integers(len(restorable)))]
        h, w = original[0].y.shape
        s = self.cfg.crop
        top, left = 2 * self.rng.integers((h - s) // 2 + 1), 2 * self.rng.integers((w - s) // 2 + 1)
        flip_dims = [d for d in (-1, -2) if self.rng.random() < 0.5]
        reverse = bool(self.rng.random() < 0.5)
        transpose = bool(self.task["transpose"] and self.rng.random() < 0.5)
        return index, t, int(top), int(left), flip_dims, reverse, transpose

    def _sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One sample on the CPU: (window (T, 6, crop/2, crop/2), target (6, crop/2, crop/2), the
        window's coding qualities (T,))."""
        index, t, top, left, flip_dims, reverse, transpose = self._draw()
        original, decoded, _, qualities = self.pairs[index]
        radius = self.model.config.window // 2
        indexes = [min(max(t + d, 0), len(original) - 1) for d in range(-radius, radius + 1)]
        if reverse:
            indexes.reverse()
        s = self.cfg.crop

        def crop(frame: YuvFrame) -> torch.Tensor:
            y, uv = _planes(frame, top, left, s)
            if flip_dims:
                y, uv = y.flip(flip_dims), uv.flip(flip_dims)
            if transpose:
                y, uv = y.transpose(-1, -2), uv.transpose(-1, -2)
            return pack_planes(y[None], uv[None])[0]

        window = torch.stack([crop(decoded[i]) for i in indexes])
        return window, crop(original[t]), torch.tensor([qualities[i] for i in indexes])

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch on self.device: (window (B, T, P, crop/2, crop/2), target (B, 6, crop/2, crop/2)),
        P = 7 with the quality planes (config quality_input), else 6.

        From stacked windows the crops are numpy views copied once and packed on the device (on a
        GPU, cutting samples one by one in Python took longer than the step itself)."""
        window, target, qualities = self._batch_planes()
        if self.model.config.quality_input:
            window = with_quality_planes(window, qualities.to(self.device))
        return window, target

    def _batch_planes(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(window (B,T,6,s,s), target (B,6,s,s), coding qualities (B,T)); see batch()."""
        if self.windows is None or self.model.config.window != 3:
            samples = [self._sample() for _ in range(self.cfg.batch)]
            return tuple(torch.stack([s[k] for s in samples]).to(self.device) for k in range(3))  # type: ignore[return-value]
        s = self.cfg.crop
        planes: dict[str, list[np.ndarray]] = {k: [] for k in WINDOW_KEYS}
        qualities = []
        for _ in range(self.cfg.batch):
            index, _, top, left, flip_dims, reverse, transpose = self._draw()
            arrays, row = self.windows[index]
            order = [2, 1, 0] if reverse else [0, 1, 2]
            qualities.append(arrays[QUALITY_KEY][row][order])
            for key in WINDOW_KEYS:
                half = 1 if key.endswith("y") else 2
                r = (slice(top // half, (top + s) // half), slice(left // half, (left + s) // half))
                crop = arrays[key][row][(order, *r)] if key.startswith("dec") else arrays[key][row][r]
                crop = np.flip(crop, axis=flip_dims) if flip_dims else crop
                planes[key].append(np.swapaxes(crop, -1, -2) if transpose else crop)

        def pack(prefix: str) -> torch.Tensor:  # -> (B, [T,] 6, s/2, s/2) floats in [0, 1]
            y, u, v = (torch.from_numpy(np.stack(planes[f"{prefix}_{p}"])).to(self.device) for p in "yuv")
            lead = y.shape[:-2]
            y = y.reshape(-1, 1, s, s).float() / 255.0
            uv = torch.stack([u, v], dim=-3).reshape(-1, 2, s // 2, s // 2).float() / 255.0
            return pack_planes(y, uv).reshape(*lead, 6, s // 2, s // 2)

        return pack("dec"), pack("org"), torch.from_numpy(np.stack(qualities))

    def compute_loss(self) -> dict[str, torch.Tensor]:
        window, target = self.batch()
        restored = self.model(window)
        distortion = yuv_distortion(target, restored)
        before = yuv_distortion(target, window[:, window.shape[1] // 2, :6])
        log_after = 10 * torch.log10(distortion.clamp_min(1e-10))
        gain = 10 * torch.log10(before.clamp_min(1e-10)) - log_after
        return {"loss": log_after.mean(), "gain_db": gain.mean().detach()}
