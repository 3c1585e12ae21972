"""Motion vectors <-> bytes with CompressAI's rANS coder and the intra model's Gaussian tables.

Each vector is coded as its difference from the median of its left, top and top-right neighbours
(models/motion.py). The x and y differences each get one zero-mean Gaussian table for the whole
frame -- whichever of the intra model's tables codes them in the fewest bits -- so the tables come
from the weights file (exact, shipped, never recomputed) and the choice costs two bytes:

    motion stream = table_x u8 | table_y u8 | rANS string of (dx, dy) per block, raster order
"""

from __future__ import annotations

import numpy as np
from compressai.ans import RansDecoder, RansEncoder

from gancodec.entropy.guard import guarded

Tables = tuple[list, list, list]  # (quantized CDFs, CDF lengths, offsets) as the coder takes them


def _table_for(values: np.ndarray, tables: Tables) -> int:
    """Index of the table that codes `values` in the fewest bits (escapes priced roughly)."""
    cdfs, lengths, offsets = tables
    costs = []
    for cdf, length, offset in zip(cdfs, lengths, offsets):
        idx = values.reshape(-1).astype(np.int64) - offset
        cdf = np.asarray(cdf[:length], dtype=np.float64)
        freq = np.diff(cdf)  # the last symbol is the escape
        inside = (idx >= 0) & (idx < length - 2)
        bits = -np.log2(freq[np.where(inside, idx, length - 2)] / cdf[-1])
        escaped = ~inside
        bits[escaped] += 2 * np.log2(2 + np.abs(idx[escaped])) + 4  # the bypass-coded value
        costs.append(bits.sum())
    return int(np.argmin(costs))


def encode_vectors(diff: np.ndarray, tables: Tables) -> bytes:
    """diff (rows, cols, 2) int: the vector differences. Returns the motion stream."""
    tx, ty = _table_for(diff[..., 0], tables), _table_for(diff[..., 1], tables)
    symbols = diff.reshape(-1).astype(np.int64).tolist()
    indexes = [tx, ty] * (len(symbols) // 2)
    return bytes([tx, ty]) + RansEncoder().encode_with_indexes(symbols, indexes, *tables)


def decode_vectors(stream: bytes, rows: int, cols: int, tables: Tables) -> np.ndarray:
    """Inverse of encode_vectors: the differences (rows, cols, 2) int64."""
    if len(stream) < 2:
        raise ValueError("motion stream too short")
    tx, ty = stream[0], stream[1]
    if max(tx, ty) >= len(tables[0]):
        raise ValueError(f"motion table index {max(tx, ty)} out of range")
    count = rows * cols * 2
    values = RansDecoder().decode_with_indexes(guarded(stream[2:], count), [tx, ty] * (rows * cols), *tables)
    return np.asarray(values, dtype=np.int64).reshape(rows, cols, 2)
