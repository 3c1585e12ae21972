"""Block motion for P-frames: estimation (encoder only) and compensation (encoder and decoder).

A P-frame is predicted from the previous decoded frame by one motion vector per 16x16 luma block
(8x8 chroma), in half-pel luma units, blended with the neighbours' vectors near block edges
(overlapped compensation). Everything is integer arithmetic -- the same pixels on any machine and
thread count, so the encoder's reference and the decoder's can only differ where the float
synthesis transform does (see docs/bitstream.md).

    luma:   mv / 2 pixels, interpolated at 1/2 pel:  weights (2 - f, f) per axis, rounding / 4
    chroma: mv / 4 pixels, interpolated at 1/4 pel:  weights (4 - f, f) per axis, rounding / 16

Estimation is a coarse-to-fine full search on luma (SAD): +-8 pixels at quarter resolution
(+-32 at full), a +-2 refinement at full resolution, then the 8 half-pel neighbours. Vectors point
anywhere: the reference is edge-extended without limit (coordinates are clamped).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

BLOCK = 16  # luma block size; chroma blocks are BLOCK / 2
COARSE_FACTOR = 4
COARSE_RANGE = 8  # pixels at 1/COARSE_FACTOR resolution
REFINE_RANGE = 2  # full-resolution pixels around the coarse vector
MV_LIMIT = 2 * 4096  # |mv| bound in half-pel units (a decoder refuses larger ones)


def block_grid(width: int, height: int) -> tuple[int, int]:
    """(rows, cols) of motion blocks covering a width x height frame."""
    return -(-height // BLOCK), -(-width // BLOCK)


def compensate(plane: np.ndarray, mv: np.ndarray, block: int, denom: int) -> np.ndarray:
    """Motion-compensated prediction of one plane.

    plane (H, W) uint8: the reference. mv (rows, cols, 2) int: (dx, dy) per block in 1/denom
    pixel units (denom a power of two). block: block size in this plane's pixels. Returns (H, W) uint8.
    """
    h, w = plane.shape
    v = np.repeat(np.repeat(mv.astype(np.int32), block, axis=0), block, axis=1)[:h, :w]
    if v.shape[:2] != (h, w):  # fewer blocks than the plane needs: the last ones extend
        v = np.pad(v, ((0, h - v.shape[0]), (0, w - v.shape[1]), (0, 0)), mode="edge")
    px = np.arange(w, dtype=np.int32)[None, :] * denom + v[..., 0]
    py = np.arange(h, dtype=np.int32)[:, None] * denom + v[..., 1]
    return _interpolate(plane, px, py, denom)


def _interpolate(plane: np.ndarray, px: np.ndarray, py: np.ndarray, denom: int) -> np.ndarray:
    """plane sampled at (px, py) / denom by bilinear interpolation in integers (edges extended)."""
    h, w = plane.shape
    shift = denom.bit_length() - 1
    ix, fx = px >> shift, px & (denom - 1)  # floor division and remainder, negatives included
    iy, fy = py >> shift, py & (denom - 1)
    x0, y0 = np.clip(ix, 0, w - 1), np.clip(iy, 0, h - 1)
    if not fx.any() and not fy.any():
        return plane[y0, x0]
    ref = plane.astype(np.int32)
    x1, y1 = np.clip(ix + 1, 0, w - 1), np.clip(iy + 1, 0, h - 1)
    top = ref[y0, x0] * (denom - fx) + ref[y0, x1] * fx
    bottom = ref[y1, x0] * (denom - fx) + ref[y1, x1] * fx
    total = top * (denom - fy) + bottom * fy
    return ((total + (denom * denom >> 1)) >> (2 * shift)).astype(np.uint8)


def predict_frame(ref_y: np.ndarray, ref_u: np.ndarray, ref_v: np.ndarray, mv: np.ndarray):
    """(y, u, v) uint8 prediction from the reference planes and the half-pel luma vectors, by
    overlapped block motion compensation (see overlapped)."""
    return (
        overlapped(ref_y, mv, BLOCK, 2, LUMA_WINDOW),
        overlapped(ref_u, mv, BLOCK // 2, 4, CHROMA_WINDOW),
        overlapped(ref_v, mv, BLOCK // 2, 4, CHROMA_WINDOW),
    )


# Overlapped compensation: near a block edge a pixel mixes the prediction by its own block's vector
# with the prediction by the vector of the neighbour across that edge, which smooths the seams a
# block-wise prediction leaves (they cost the residual coder bits). Own weight, in eighths, of the
# pixels 0, 1, 2 (luma) or 0, 1 (chroma) away from an edge; 8 elsewhere.
LUMA_WINDOW = (5, 6, 7)
CHROMA_WINDOW = (6, 7)


def _window(size: int, block: int, edge: tuple[int, ...]) -> np.ndarray:
    """Own weights (in eighths) along one axis of `size` pixels cut into blocks."""
    w = np.full(block, 8, np.int64)
    w[: len(edge)] = edge
    w[block - len(edge) :] = edge[::-1]
    return np.tile(w, -(-size // block))[:size]


def _neighbour_field(mv: np.ndarray, axis: int, step: int) -> np.ndarray:
    """The field in which each block takes the vector of its neighbour `step` (+-1) blocks along
    `axis` (0 rows, 1 columns); blocks on the frame edge keep their own."""
    n = mv.shape[axis]
    index = np.clip(np.arange(n) + step, 0, n - 1)
    return np.take(mv, index, axis=axis)


def overlapped(plane: np.ndarray, mv: np.ndarray, block: int, denom: int, edge: tuple[int, ...]) -> np.ndarray:
    """Overlapped block motion compensation of one plane, in integers.

    With wx, wy the own weights (eighths) of a pixel's column and row, and H, V the predictions by
    the vector of the nearer horizontal and vertical neighbour block:
        (own * wx * wy + H * (8 - wx) * wy + V * wx * (8 - wy) + ((H + V) * (8 - wx) * (8 - wy)) // 2 + 32) // 64
    A uniform field gives exactly `compensate`'s prediction.
    """
    h, w = plane.shape
    own = compensate(plane, mv, block, denom).astype(np.int64)
    first_half_x = (np.arange(w) % block) < block // 2
    first_half_y = (np.arange(h) % block) < block // 2
    left, right = (compensate(plane, _neighbour_field(mv, 1, s), block, denom) for s in (-1, 1))
    top, bottom = (compensate(plane, _neighbour_field(mv, 0, s), block, denom) for s in (-1, 1))
    hor = np.where(first_half_x[None, :], left, right).astype(np.int64)
    ver = np.where(first_half_y[:, None], top, bottom).astype(np.int64)
    wx, wy = _window(w, block, edge)[None, :], _window(h, block, edge)[:, None]
    total = own * wx * wy + hor * (8 - wx) * wy + ver * wx * (8 - wy) + ((hor + ver) * (8 - wx) * (8 - wy)) // 2
    return ((total + 32) // 64).astype(np.uint8)


def _block_sad(cur: Tensor, ref_padded: Tensor, dx: int, dy: int, pad: int, block: int) -> Tensor:
    """SAD per block of cur (H, W) against ref shifted by (dx, dy) integer pixels."""
    h, w = cur.shape
    shifted = ref_padded[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
    diff = (cur - shifted).abs()[None, None]
    return F.avg_pool2d(diff, block, ceil_mode=True)[0, 0] * (block * block)


def _full_search(cur: Tensor, ref: Tensor, radius: int, block: int) -> Tensor:
    """Integer full search of +-radius around zero. Returns the best vectors (rows, cols, 2) long;
    ties go to the vector tried first, the one nearest zero."""
    pad = radius + 1
    ref_padded = F.pad(ref[None, None], (pad, pad, pad, pad), mode="replicate")[0, 0]
    best_cost, best = None, None
    for ox, oy in _offsets(radius):
        cost = _block_sad(cur, ref_padded, ox, oy, pad, block)
        if best_cost is None:
            best_cost, best = cost, torch.zeros(*cost.shape, 2, dtype=torch.long)
            continue
        better = cost < best_cost
        best_cost = torch.where(better, cost, best_cost)
        best[better] = torch.tensor([ox, oy])
    return best


def _offsets(radius: int) -> list[tuple[int, int]]:
    grid = [(ox, oy) for oy in range(-radius, radius + 1) for ox in range(-radius, radius + 1)]
    return sorted(grid, key=lambda o: abs(o[0]) + abs(o[1]))


def _refine(cur_y: np.ndarray, ref_y: np.ndarray, mv: np.ndarray, steps: list[tuple[int, int]]) -> np.ndarray:
    """Tries mv + each step (half-pel units) for every block; keeps the best (ties: earlier)."""
    best, best_cost = mv.copy(), _sad_of_field(cur_y, ref_y, mv)
    for dx, dy in steps:
        candidate = mv + np.array([dx, dy], dtype=mv.dtype)
        cost = _sad_of_field(cur_y, ref_y, candidate)
        better = cost < best_cost
        best[better] = candidate[better]
        best_cost = np.where(better, cost, best_cost)
    return best


def estimate_motion(cur_y: np.ndarray, ref_y: np.ndarray, bit_cost: float = 0.0) -> np.ndarray:
    """Half-pel luma vectors (rows, cols, 2) int32 that predict cur_y from ref_y (both (H, W) uint8).

    bit_cost: SAD units one bit of motion is worth. With bit_cost > 0 each block finally picks the
    candidate (its best-SAD vector, its predictor, zero, its left and top neighbours' vectors) with
    the least SAD + bit_cost x (estimated bits of the vector difference): a smoother field, fewer
    motion bits where the picture barely cares."""
    h, w = cur_y.shape
    rows, cols = block_grid(w, h)
    f = COARSE_FACTOR
    mv = np.zeros((rows, cols, 2), dtype=np.int64)
    if min(h, w) >= 4 * f:
        cur = torch.from_numpy(cur_y.astype(np.float32))[None, None]
        ref = torch.from_numpy(ref_y.astype(np.float32))[None, None]
        cur_c = F.avg_pool2d(cur, f, ceil_mode=True)[0, 0]
        ref_c = F.avg_pool2d(ref, f, ceil_mode=True)[0, 0]
        coarse = _full_search(cur_c, ref_c, COARSE_RANGE, BLOCK // f)[:rows, :cols]
        mv = coarse.numpy().astype(np.int64) * f * 2
        # the zero vector competes too: where the coarse search was fooled, static blocks stay put
        coarse_better = _sad_of_field(cur_y, ref_y, mv) < _sad_of_field(cur_y, ref_y, np.zeros_like(mv))
        mv = np.where(coarse_better[..., None], mv, 0)
    full_steps = [(2 * ox, 2 * oy) for ox, oy in _offsets(REFINE_RANGE) if (ox, oy) != (0, 0)]
    mv = _refine(cur_y, ref_y, mv, full_steps)
    half_steps = [(ox, oy) for ox, oy in _offsets(1) if (ox, oy) != (0, 0)]
    mv = _refine(cur_y, ref_y, mv, half_steps)
    if bit_cost > 0:
        mv = _rate_constrained(cur_y, ref_y, mv, bit_cost)
    return mv.astype(np.int32)


def _rate_constrained(cur_y: np.ndarray, ref_y: np.ndarray, best: np.ndarray, bit_cost: float) -> np.ndarray:
    """In coding order, each block picks among its best-SAD vector, its predictor, zero and its
    left and top neighbours' vectors the one with the least SAD + bit_cost x bits (a neighbour's
    choice changes the next block's predictor, so this runs block by block; the SADs of the
    block's own two candidates are computed for all blocks at once)."""
    rows, cols, _ = best.shape
    best_sad = _sad_of_field(cur_y, ref_y, best)
    zero_sad = _sad_of_field(cur_y, ref_y, np.zeros_like(best))
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
                    sads[v] = _one_block_sad(cur_y, ref_y, r, c, v)
                bits = sum(2 * math.log2(1 + abs(a - b)) + 1 for a, b in zip(v, pred))
                cost = sads[v] + bit_cost * bits
                if choice_cost is None or cost < choice_cost:
                    choice, choice_cost = v, cost
            out[r, c] = choice
    return out


def _one_block_sad(cur_y: np.ndarray, ref_y: np.ndarray, r: int, c: int, v: tuple[int, int]) -> float:
    h, w = cur_y.shape
    y0, x0 = r * BLOCK, c * BLOCK
    ys = np.arange(y0, min(y0 + BLOCK, h), dtype=np.int32)[:, None]
    xs = np.arange(x0, min(x0 + BLOCK, w), dtype=np.int32)[None, :]
    px = np.broadcast_to(xs * 2 + v[0], (ys.shape[0], xs.shape[1]))
    py = np.broadcast_to(ys * 2 + v[1], (ys.shape[0], xs.shape[1]))
    pred = _interpolate(ref_y, px, py, 2)
    return float(np.abs(cur_y[y0 : y0 + BLOCK, x0 : x0 + BLOCK].astype(np.int32) - pred).sum())


def _sad_of_field(cur_y: np.ndarray, ref_y: np.ndarray, mv_half: np.ndarray) -> np.ndarray:
    """SAD per block of cur_y against the half-pel compensation of ref_y by mv_half."""
    pred = compensate(ref_y, mv_half, BLOCK, 2).astype(np.float32)
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
