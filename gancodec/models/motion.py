"""Block motion for P-frames: estimation (encoder only) and compensation (encoder and decoder).

A P-frame is predicted from the previous decoded frame by one motion vector per 16x16 luma block
(8x8 chroma), blended with the neighbours' vectors near block edges (overlapped compensation), in
one of two interpolations (`Interpolation`), chosen per frame by the encoder:

    HALF_BILINEAR (P-frames, every format):
      luma:   mv / 2 pixels, at 1/2 pel:  weights (2 - f, f) per axis, rounding / 4
      chroma: mv / 4 pixels, at 1/4 pel:  weights (4 - f, f) per axis, rounding / 16
    QUARTER_SHARP (format 3.0 "Pq" frames):
      luma:   mv / 4 pixels, at 1/4 pel:  HEVC's 8-tap luma filters, separable, rounding / 4096
      chroma: mv / 8 pixels, at 1/8 pel:  HEVC's 4-tap chroma filters, separable, rounding / 4096

The sharp filters keep the detail bilinear averaging blurs away, which saves residual bits where
the reference holds detail (higher qualities); at low qualities the blur of bilinear is the better
prediction of a blurry reference, and the coarser vectors cost fewer bits.
Everything is integer arithmetic -- the same pixels on any machine and thread count, so the
encoder's reference and the decoder's can only differ where the float synthesis transform does
(see docs/bitstream.md).

Estimation is a coarse-to-fine full search on luma (SAD): +-8 pixels at quarter resolution
(+-32 at full), a +-2 refinement at full resolution, then the 8 half-pel neighbours (and the 8
quarter-pel ones). Vectors point anywhere: the reference is edge-extended without limit
(coordinates are clamped).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK = 16  # luma block size; chroma blocks are BLOCK / 2
COARSE_FACTOR = 4
COARSE_RANGE = 8  # pixels at 1/COARSE_FACTOR resolution
REFINE_RANGE = 2  # full-resolution pixels around the coarse vector
MV_LIMIT_PIXELS = 4096  # |mv| bound in luma pixels (a decoder refuses larger vectors)

# HEVC's interpolation filters (ITU-T H.265, 8.5.3.3.3), taps applied at offsets -3..+4 (luma) and
# -1..+2 (chroma) around the integer sample; each row sums to 64.
LUMA_TAPS = (
    (0, 0, 0, 64, 0, 0, 0, 0),
    (-1, 4, -10, 58, 17, -5, 1, 0),
    (-1, 4, -11, 40, 40, -11, 4, -1),
    (0, 1, -5, 17, 58, -10, 4, -1),
)  # phases 0, 1/4, 1/2, 3/4
CHROMA_TAPS = (
    (0, 64, 0, 0), (-2, 58, 10, -2), (-4, 54, 16, -2), (-6, 46, 28, -4),
    (-4, 36, 36, -4), (-4, 28, 46, -6), (-2, 16, 54, -4), (-2, 10, 58, -2),
)  # phases 0, 1/8, ..., 7/8  # fmt: skip


@dataclass(frozen=True)
class Interpolation:
    """How vectors are read: luma_denom vector units per luma pixel (chroma: twice as many per
    chroma pixel) and whether the sub-pel samples come from the sharp (HEVC) filters or bilinear."""

    luma_denom: int
    sharp: bool

    @property
    def chroma_denom(self) -> int:
        return 2 * self.luma_denom

    @property
    def mv_limit(self) -> int:
        return MV_LIMIT_PIXELS * self.luma_denom


HALF_BILINEAR = Interpolation(2, sharp=False)
QUARTER_SHARP = Interpolation(4, sharp=True)


def block_grid(width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of motion blocks covering a width x height frame."""
    return -(-height // BLOCK), -(-width // BLOCK)


def compensate(plane: np.ndarray, mv: np.ndarray, block: int, denom: int, sharp: bool = False) -> np.ndarray:
    """Motion-compensated prediction of one plane.

    plane (H, W) uint8: the reference. mv (rows, cols, 2) int: (dx, dy) per block in 1/denom
    pixel units (denom a power of two). block: block size in this plane's pixels. Returns (H, W) uint8.
    """
    return SubpelPlane(plane, denom, sharp).compensate(mv, block)


class SubpelPlane:
    """A reference plane interpolated once at every 1/denom position (denom x denom phases), so
    that a prediction is one gather instead of four taps per pixel; motion search and overlapped
    compensation sample the same reference many times. Bilinear or sharp (HEVC's filters: luma
    when denom <= 4, chroma's 4-tap at 1/8), in integers, as in the module docstring; outside the
    plane its edges extend."""

    def __init__(
        self, plane: np.ndarray, denom: int, sharp: bool = False, phases: set[tuple[int, int]] | None = None
    ):
        """phases: the (x, y) phases to interpolate (sharp only; default all): a decoder needs
        only those of the frame's vectors, and the sharp filters cost far more than bilinear."""
        h, w = plane.shape
        self.shape, self.denom = (h, w), denom
        # Pixels of edge extension interpolated around the plane: bilinear samples beyond the last
        # pixel equal it, so clamping into the plane's grid is exact; a sharp filter reaches 4
        # pixels, so the plane is extended by that much before filtering, and outside it a sample
        # keeps its phase at the nearest extended pixel (whose every tap sees the edge pixel).
        self.margin = SHARP_MARGIN if sharp else 0
        if sharp:
            m = self.margin
            self.up = _sharp_phases(np.pad(plane, m, mode="edge"), _sharp_taps(denom), phases)
            return
        shift = denom.bit_length() - 1
        # int16 suffices: a phase's weighted sum is at most 255 * denom^2 (4080 for quarter-pel)
        ref = np.pad(plane, ((0, 1), (0, 1)), mode="edge").astype(np.int16)
        rows = [ref[:, :-1] * (denom - fx) + ref[:, 1:] * fx for fx in range(denom)]  # (H+1, W) each
        up = np.empty((h * denom, w * denom), dtype=np.uint8)
        for fy in range(denom):
            for fx in range(denom):
                total = rows[fx][:-1] * (denom - fy) + rows[fx][1:] * fy
                up[fy::denom, fx::denom] = (total + (denom * denom >> 1)) >> (2 * shift)
        self.up = up

    def sample(self, px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """Values at (px, py) / denom (integer arrays); outside the plane its edges extend."""
        hh, ww = self.up.shape
        if not self.margin:
            index = np.clip(py, 0, hh - 1) * ww + np.clip(px, 0, ww - 1)
            return np.take(self.up.reshape(-1), index)
        d, m = self.denom, self.margin
        shift, phase = d.bit_length() - 1, d - 1
        ix = np.clip((px >> shift) + m, 0, ww // d - 1) * d + (px & phase)
        iy = np.clip((py >> shift) + m, 0, hh // d - 1) * d + (py & phase)
        return np.take(self.up.reshape(-1), iy * ww + ix)

    def compensate(self, mv: np.ndarray, block: int, block_w: int | None = None) -> np.ndarray:
        """The plane predicted by one vector per block (see `compensate`); blocks are
        block x block pixels, or block x block_w."""
        h, w = self.shape
        block_w = block_w or block
        v = np.repeat(np.repeat(mv.astype(np.int32), block, axis=0), block_w, axis=1)[:h, :w]
        if v.shape[:2] != (h, w):  # fewer blocks than the plane needs: the last ones extend
            v = np.pad(v, ((0, h - v.shape[0]), (0, w - v.shape[1]), (0, 0)), mode="edge")
        px = np.arange(w, dtype=np.int32)[None, :] * self.denom + v[..., 0]
        py = np.arange(h, dtype=np.int32)[:, None] * self.denom + v[..., 1]
        return self.sample(px, py)


SHARP_MARGIN = 4  # luma filter reach in pixels


def _sharp_taps(denom: int) -> tuple[tuple[int, ...], ...]:
    """The filter of each of a plane's `denom` phases: luma's 8 taps up to quarter-pel, chroma's 4
    taps at eighth-pel."""
    if denom <= 4:
        return tuple(LUMA_TAPS[phase * 4 // denom] for phase in range(denom))
    if denom == 8:
        return CHROMA_TAPS
    raise ValueError(f"no sharp filter for 1/{denom} pel")


def _sharp_phases(
    plane: np.ndarray, taps: tuple[tuple[int, ...], ...], phases: set[tuple[int, int]] | None = None
) -> np.ndarray:
    """The (x, y) `phases` (default all) of the separable filter `taps` (one per 1/denom position,
    each summing to 64), interleaved on the 1/denom grid: horizontal pass kept at full precision
    (int32), then vertical, then (sum + 2048) >> 12 clipped to 8 bits -- exact integers, and phase
    (0, 0) is the plane itself. Phases not asked for are left at 0."""
    h, w = plane.shape
    denom, n = len(taps), len(taps[0])
    if phases is None:
        phases = {(fx, fy) for fx in range(denom) for fy in range(denom)}
    before = n // 2 - 1  # taps before the integer sample
    ref = np.pad(plane, ((before, n - 1 - before), (before, n - 1 - before)), mode="edge").astype(np.int32)
    rows = {}
    for fx in sorted({fx for fx, _ in phases}):  # horizontal phases over the padded rows: (H + n - 1, W)
        acc = np.zeros((ref.shape[0], w), np.int32)
        for k, c in enumerate(taps[fx]):
            if c:
                acc += c * ref[:, k : k + w]
        rows[fx] = acc
    up = np.zeros((h * denom, w * denom), dtype=np.uint8)
    for fx, fy in phases:
        acc = np.zeros((h, w), np.int32)  # |sum| < 2^31: 255 * 88 * 88
        for k, c in enumerate(taps[fy]):
            if c:
                acc += c * rows[fx][k : k + h]
        up[fy::denom, fx::denom] = np.clip((acc + 2048) >> 12, 0, 255)
    return up


def predict_frame(
    ref_y: np.ndarray, ref_u: np.ndarray, ref_v: np.ndarray, mv: np.ndarray,
    interpolation: Interpolation = HALF_BILINEAR, luma_plane: SubpelPlane | None = None,
):  # fmt: skip
    """(y, u, v) uint8 prediction from the reference planes and the luma vectors (in
    1/interpolation.luma_denom pixels), by overlapped block motion compensation (see overlapped).
    luma_plane: ref_y already interpolated so (by the motion search), not built again."""
    luma, chroma, sharp = interpolation.luma_denom, interpolation.chroma_denom, interpolation.sharp
    return (
        overlapped(ref_y, mv, BLOCK, luma, LUMA_WINDOW, sharp, luma_plane),
        overlapped(ref_u, mv, BLOCK // 2, chroma, CHROMA_WINDOW, sharp),
        overlapped(ref_v, mv, BLOCK // 2, chroma, CHROMA_WINDOW, sharp),
    )


def plane_mse(planes: tuple[np.ndarray, ...], others: tuple[np.ndarray, ...]) -> float:
    """Squared error of (y, u, v) against (y, u, v), weighted 6:1:1 like the codec's distortion."""
    mse = [float(np.mean((a.astype(np.int32) - b.astype(np.int32)) ** 2)) for a, b in zip(planes, others)]
    return (6 * mse[0] + mse[1] + mse[2]) / 8


def best_prediction(
    cur: tuple[np.ndarray, ...], ref: tuple[np.ndarray, ...], bit_cost: float,
    interpolations: tuple[Interpolation, ...] = (HALF_BILINEAR,),
) -> tuple[Interpolation, np.ndarray, tuple[np.ndarray, ...]]:  # fmt: skip
    """(interpolation, vectors, predicted (y, u, v)) that predict frame `cur` from `ref` best: motion
    is searched under each interpolation and the prediction closer to `cur` (plane_mse) wins, the
    earlier on a tie. Sharp filters win where the reference holds detail the motion preserves; a
    blurry or noisy reference is often predicted better by bilinear's blur (and its cheaper vectors)."""
    best = None
    whole = whole_pixel_motion(cur[0], ref[0])
    for interpolation in interpolations:
        luma = SubpelPlane(ref[0], interpolation.luma_denom, interpolation.sharp)  # all phases: searched
        vectors = refine_motion(cur[0], luma, whole, bit_cost)
        prediction = predict_frame(*ref, vectors, interpolation, luma)
        error = plane_mse(cur, prediction)
        if best is None or error < best[0]:
            best = (error, interpolation, vectors, prediction)
    return best[1:]


# Overlapped compensation: near a block edge a pixel mixes the prediction by its own block's vector
# with the prediction by the vector of the neighbour across that edge, which smooths the seams a
# block-wise prediction leaves (they cost the residual coder bits). Own weight, in eighths, of the
# pixels 0, 1, 2 (luma) or 0, 1 (chroma) away from an edge; 8 elsewhere.
LUMA_WINDOW = (5, 6, 7)
CHROMA_WINDOW = (6, 7)


def _window(size: int, block: int, edge: tuple[int, ...]) -> np.ndarray:
    """Own weights (in eighths) along one axis of `size` pixels cut into blocks."""
    w = np.full(block, 8, np.int32)
    w[: len(edge)] = edge
    w[block - len(edge) :] = edge[::-1]
    return np.tile(w, -(-size // block))[:size]


def _neighbour_field(mv: np.ndarray, axis: int, step: int) -> np.ndarray:
    """The field in which each block takes the vector of its neighbour `step` (+-1) blocks along
    `axis` (0 rows, 1 columns); blocks on the frame edge keep their own."""
    n = mv.shape[axis]
    index = np.clip(np.arange(n) + step, 0, n - 1)
    return np.take(mv, index, axis=axis)


def overlapped(
    plane: np.ndarray, mv: np.ndarray, block: int, denom: int, edge: tuple[int, ...], sharp: bool = False,
    ref: SubpelPlane | None = None,
) -> np.ndarray:  # fmt: skip
    """Overlapped block motion compensation of one plane, in integers.

    With wx, wy the own weights (eighths) of a pixel's column and row, and H, V the predictions by
    the vector of the nearer horizontal and vertical neighbour block:
        (own * wx * wy + H * (8 - wx) * wy + V * wx * (8 - wy) + ((H + V) * (8 - wx) * (8 - wy)) // 2 + 32) // 64
    A uniform field gives exactly `compensate`'s prediction.
    """
    h, w = plane.shape
    if ref is None:
        # the neighbours' vectors are the frame's vectors too: their phases are all a decoder needs
        phases = {(int(x) % denom, int(y) % denom) for x, y in mv.reshape(-1, 2)} if sharp else None
        ref = SubpelPlane(plane, denom, sharp, phases)
    rows, cols, _ = mv.shape
    half = block // 2
    own = ref.compensate(mv, block).astype(np.int32)
    # the nearer neighbour's vector: the left one in the first half of a block, else the right one
    beside = np.stack([_neighbour_field(mv, 1, -1), _neighbour_field(mv, 1, 1)], axis=2)
    hor = ref.compensate(beside.reshape(rows, 2 * cols, 2), block, half).astype(np.int32)
    above_below = np.stack([_neighbour_field(mv, 0, -1), _neighbour_field(mv, 0, 1)], axis=1)
    ver = ref.compensate(above_below.reshape(2 * rows, cols, 2), half, block).astype(np.int32)
    wx, wy = _window(w, block, edge)[None, :], _window(h, block, edge)[:, None]
    total = own * wx * wy + hor * (8 - wx) * wy + ver * wx * (8 - wy) + ((hor + ver) * (8 - wx) * (8 - wy)) // 2
    return ((total + 32) // 64).astype(np.uint8)


SEARCH_CHUNK = 32  # offsets of the full search evaluated together: fewer, larger tensor ops


def _full_search(cur: Tensor, ref: Tensor, radius: int, block: int) -> Tensor:
    """Integer full search of +-radius around zero on (H, W) planes, SAD per block. Returns the
    best vectors (rows, cols, 2) long; ties go to the vector tried first, the one nearest zero."""
    h, w = cur.shape
    pad = radius + 1
    ref_padded = F.pad(ref[None, None], (pad, pad, pad, pad), mode="replicate")[0, 0]
    offsets = _offsets(radius)
    costs = []
    for first in range(0, len(offsets), SEARCH_CHUNK):
        chunk = offsets[first : first + SEARCH_CHUNK]
        shifted = torch.stack([ref_padded[pad + oy : pad + oy + h, pad + ox : pad + ox + w] for ox, oy in chunk])
        costs.append(F.avg_pool2d((cur - shifted).abs()[:, None], block, ceil_mode=True)[:, 0])
    best = torch.cat(costs).argmin(dim=0)  # the first of equal minima, as the offsets are ordered
    return torch.tensor(offsets, dtype=torch.long)[best]


def _offsets(radius: int) -> list[tuple[int, int]]:
    grid = [(ox, oy) for oy in range(-radius, radius + 1) for ox in range(-radius, radius + 1)]
    return sorted(grid, key=lambda o: abs(o[0]) + abs(o[1]))


def _refine(cur_y: np.ndarray, ref: SubpelPlane, mv: np.ndarray, steps: list[tuple[int, int]]) -> np.ndarray:
    """Tries mv + each step (sub-pel units) for every block; keeps the best (ties: earlier).

    Each block's reference window (its block at mv, widened by the largest step) is gathered once;
    every candidate is then a strided view of it. SADs of blocks cut by the frame edge are scaled
    to a full block, as `_sad_of_field`'s. Vectors and steps are in 1/ref.denom pixels."""
    rows, cols, _ = mv.shape
    d = ref.denom
    reach = max(max(abs(dx), abs(dy)) for dx, dy in steps)
    span = d * (BLOCK - 1) + 1 + 2 * reach  # sub-pel samples across a widened window
    k = np.arange(span, dtype=np.int64)
    left = (np.arange(cols, dtype=np.int64) * d * BLOCK)[None, :] + mv[..., 0] - reach
    top = (np.arange(rows, dtype=np.int64) * d * BLOCK)[:, None] + mv[..., 1] - reach
    window = ref.sample(left[..., None, None] + k, top[..., None, None] + k[:, None])  # (rows, cols, span, span)
    cur, valid = _blocks(cur_y, rows, cols)
    scale = np.float32(BLOCK * BLOCK) / valid.sum(axis=(2, 3)).astype(np.float32)

    def sad(dx: int, dy: int) -> np.ndarray:
        y0, x0 = reach + dy, reach + dx
        pred = window[:, :, y0 : y0 + d * BLOCK : d, x0 : x0 + d * BLOCK : d]
        return (np.abs(cur - pred) * valid).sum(axis=(2, 3)).astype(np.float32) * scale

    best, best_cost = mv.copy(), sad(0, 0)
    for dx, dy in steps:
        cost = sad(dx, dy)
        better = cost < best_cost
        best[better] = mv[better] + np.array([dx, dy], dtype=mv.dtype)
        best_cost = np.where(better, cost, best_cost)
    return best


def _blocks(plane: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """plane (H, W) cut into (rows, cols, BLOCK, BLOCK) int16 blocks (edge-padded to the grid),
    and a 0/1 mask of the pixels inside the plane."""
    h, w = plane.shape
    pad = ((0, rows * BLOCK - h), (0, cols * BLOCK - w))
    blocks = np.pad(plane, pad, mode="edge").astype(np.int16)
    valid = np.pad(np.ones((h, w), np.int16), pad)
    cut = lambda a: a.reshape(rows, BLOCK, cols, BLOCK).transpose(0, 2, 1, 3)
    return cut(blocks), cut(valid)


def estimate_motion(
    cur_y: np.ndarray, ref_y: np.ndarray, bit_cost: float = 0.0, interpolation: Interpolation = HALF_BILINEAR
) -> np.ndarray:
    """Luma vectors (rows, cols, 2) int32, in 1/interpolation.luma_denom pixels, that predict cur_y
    from ref_y (both (H, W) uint8) under `interpolation`.

    bit_cost: SAD units one bit of motion is worth. With bit_cost > 0 each block finally picks the
    candidate (its best-SAD vector, its predictor, zero, its left and top neighbours' vectors) with
    the least SAD + bit_cost x (estimated bits of the vector difference): a smoother field, fewer
    motion bits where the picture barely cares."""
    ref_sub = SubpelPlane(ref_y, interpolation.luma_denom, interpolation.sharp)
    return refine_motion(cur_y, ref_sub, whole_pixel_motion(cur_y, ref_y), bit_cost)


def whole_pixel_motion(cur_y: np.ndarray, ref_y: np.ndarray) -> np.ndarray:
    """The search's whole-pixel stage (the same for every interpolation): vectors (rows, cols, 2)
    int64 in pixels, from the coarse full search and the +-REFINE_RANGE refinement."""
    h, w = cur_y.shape
    rows, cols = block_grid(w, h)
    ref_whole = SubpelPlane(ref_y, 1)  # the plane itself, edge-extended
    f = COARSE_FACTOR
    mv = np.zeros((rows, cols, 2), dtype=np.int64)
    if min(h, w) >= 4 * f:
        cur = torch.from_numpy(cur_y.astype(np.float32))[None, None]
        ref = torch.from_numpy(ref_y.astype(np.float32))[None, None]
        cur_c = F.avg_pool2d(cur, f, ceil_mode=True)[0, 0]
        ref_c = F.avg_pool2d(ref, f, ceil_mode=True)[0, 0]
        coarse = _full_search(cur_c, ref_c, COARSE_RANGE, BLOCK // f)[:rows, :cols]
        mv = coarse.numpy().astype(np.int64) * f
        # the zero vector competes too: where the coarse search was fooled, static blocks stay put
        coarse_better = _sad_of_field(cur_y, ref_whole, mv) < _sad_of_field(cur_y, ref_whole, np.zeros_like(mv))
        mv = np.where(coarse_better[..., None], mv, 0)
    full_steps = [(ox, oy) for ox, oy in _offsets(REFINE_RANGE) if (ox, oy) != (0, 0)]
    return _refine(cur_y, ref_whole, mv, full_steps)


def refine_motion(cur_y: np.ndarray, ref: SubpelPlane, whole: np.ndarray, bit_cost: float = 0.0) -> np.ndarray:
    """The sub-pel stage: whole-pixel vectors -> vectors int32 in 1/ref.denom pixels (the 8 half-pel
    neighbours, then the 8 quarter-pel ones), then the rate-constrained choice when bit_cost > 0."""
    d = ref.denom
    mv = whole.astype(np.int64) * d
    step = d // 2
    while step >= 1:
        mv = _refine(cur_y, ref, mv, [(step * ox, step * oy) for ox, oy in _offsets(1) if (ox, oy) != (0, 0)])
        step //= 2
    if bit_cost > 0:
        mv = _rate_constrained(cur_y, ref, mv, bit_cost)
    return mv.astype(np.int32)


def _rate_constrained(cur_y: np.ndarray, ref: SubpelPlane, best: np.ndarray, bit_cost: float) -> np.ndarray:
    """In coding order, each block picks among its best-SAD vector, its predictor, zero and its
    left and top neighbours' vectors the one with the least SAD + bit_cost x bits (a neighbour's
    choice changes the next block's predictor, so this runs block by block; the SADs of the
    block's own two candidates are computed for all blocks at once)."""
    rows, cols, _ = best.shape
    best_sad = _sad_of_field(cur_y, ref, best)
    zero_sad = _sad_of_field(cur_y, ref, np.zeros_like(best))
    cur = cur_y.astype(np.int32)
    out = np.zeros((rows, cols, 2), dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            left = tuple(out[r, c - 1]) if c > 0 else (0, 0)
            top = tuple(out[r - 1, c]) if r > 0 else (0, 0)
            top_right = tuple(out[r - 1, c + 1]) if r > 0 and c + 1 < cols else (0, 0)
            pred = (sorted((left[0], top[0], top_right[0]))[1], sorted((left[1], top[1], top_right[1]))[1])
            own = (int(best[r, c, 0]), int(best[r, c, 1]))
            sads = {own: float(best_sad[r, c]), (0, 0): float(zero_sad[r, c])}
            choice, choice_cost = own, None
            for v in (own, pred, (0, 0), left, top):
                if v not in sads:
                    sads[v] = _one_block_sad(cur, ref, r, c, v)
                bits = _difference_bits(v[0] - pred[0]) + _difference_bits(v[1] - pred[1])
                cost = sads[v] + bit_cost * bits
                if choice_cost is None or cost < choice_cost:
                    choice, choice_cost = v, cost
            out[r, c] = choice
    return out


@functools.lru_cache(maxsize=4096)
def _difference_bits(d: int) -> float:
    """Estimated bits of one vector-difference component (an Exp-Golomb-like length)."""
    return 2 * math.log2(1 + abs(d)) + 1


def _one_block_sad(cur: np.ndarray, ref: SubpelPlane, r: int, c: int, v: tuple[int, int]) -> float:
    """SAD of block (r, c) of cur (H, W) int32 against the reference at sub-pel vector v."""
    h, w = cur.shape
    d = ref.denom
    y0, x0 = r * BLOCK, c * BLOCK
    bh, bw = min(BLOCK, h - y0), min(BLOCK, w - x0)
    offset = ref.margin * d
    sy, sx = d * y0 + v[1] + offset, d * x0 + v[0] + offset
    if sy >= 0 and sx >= 0 and sy + d * bh <= ref.up.shape[0] and sx + d * bw <= ref.up.shape[1]:
        pred = ref.up[sy : sy + d * bh : d, sx : sx + d * bw : d]  # inside the plane: a strided view
    else:
        ys = np.arange(sy, sy + d * bh, d)[:, None] - offset
        xs = np.arange(sx, sx + d * bw, d)[None, :] - offset
        pred = ref.sample(xs, ys)
    return float(np.abs(cur[y0 : y0 + bh, x0 : x0 + bw] - pred).sum())


def _sad_of_field(cur_y: np.ndarray, ref: SubpelPlane, mv_half: np.ndarray) -> np.ndarray:
    """SAD per block of cur_y against the half-pel compensation of the reference by mv_half."""
    pred = ref.compensate(mv_half, BLOCK).astype(np.float32)
    diff = torch.from_numpy(np.abs(cur_y.astype(np.float32) - pred))[None, None]
    return (F.avg_pool2d(diff, BLOCK, ceil_mode=True)[0, 0] * BLOCK * BLOCK).numpy()


def predict_vectors(mv: np.ndarray) -> np.ndarray:
    """Each block's predictor: the median of its left, top and top-right neighbours' vectors
    (H.264 style; missing neighbours count as zero). mv (rows, cols, 2) -> same shape."""
    rows, cols, _ = mv.shape
    padded = np.zeros((rows + 1, cols + 2, 2), dtype=np.int64)
    padded[1:, 1:-1] = mv
    left = padded[1:, :-2]
    top = padded[:-1, 1:-1]
    top_right = padded[:-1, 2:]
    return np.median(np.stack([left, top, top_right]), axis=0).astype(np.int64)


def vectors_from_differences(diff: np.ndarray) -> np.ndarray:
    """Inverse of `mv - predict_vectors(mv)`: rebuilds the vectors in raster order."""
    rows, cols, _ = diff.shape
    d = diff.astype(np.int64).tolist()
    mv = [[(0, 0)] * cols for _ in range(rows)]
    for r in range(rows):
        for c in range(cols):
            left = mv[r][c - 1] if c > 0 else (0, 0)
            top = mv[r - 1][c] if r > 0 else (0, 0)
            top_right = mv[r - 1][c + 1] if r > 0 and c + 1 < cols else (0, 0)
            mv[r][c] = tuple(
                d[r][c][k] + sorted((left[k], top[k], top_right[k]))[1] for k in (0, 1)
            )
    return np.array(mv, dtype=np.int64).reshape(rows, cols, 2)
