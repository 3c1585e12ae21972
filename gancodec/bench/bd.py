"""Bjøntegaard deltas (BD-rate, BD-quality) with the `bjontegaard` package, PCHIP interpolation.

BD-rate: the average bitrate difference (%) of the test curve against the anchor at equal quality,
integrated over the quality interval both curves cover; negative = the test codec saves bits.
BD-PSNR (BD-quality for MS-SSIM): the average quality difference at equal rate over the common
log-rate interval. Per-sequence values are averaged over the sequences where they exist (JVET
practice), never computed on an averaged curve.

Instead of crashing or returning NaN, every value comes with a note when it cannot be trusted:
fewer than two usable points, curves that do not overlap (-> value None), or a small overlap.
Points that break monotonicity (quality not rising with rate) are dropped first, because PCHIP
needs a strictly monotone curve -- the note says how many.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METHOD = "pchip"
MIN_OVERLAP = 0.5  # below this fraction of the joint interval, the value is flagged in the note


@dataclass(frozen=True)
class BdValue:
    value: float | None
    note: str = ""

    def format(self, digits: int = 2, suffix: str = "") -> str:
        if self.value is None:
            return "n/a"
        text = f"{self.value:+.{digits}f}{suffix}"
        return text + " (!)" if self.note else text


def monotone_curve(
    rates: Sequence[float | None], quality: Sequence[float | None]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted by rate, undefined points removed, points that do not raise the quality dropped.

    Returns (rates, quality, number of points dropped for monotonicity)."""
    pairs = sorted(
        (float(r), float(q))
        for r, q in zip(rates, quality)
        if r is not None and q is not None and r > 0 and math.isfinite(r) and math.isfinite(q)
    )
    kept: list[tuple[float, float]] = []
    for r, q in pairs:
        if kept and (r <= kept[-1][0] or q <= kept[-1][1]):
            continue
        kept.append((r, q))
    return np.array([p[0] for p in kept]), np.array([p[1] for p in kept]), len(pairs) - len(kept)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    total = max(a.max(), b.max()) - min(a.min(), b.min())
    return max(hi - lo, 0.0) / total if total > 0 else 0.0


def _delta(kind: str, anchor: tuple, test: tuple) -> BdValue:
    import bjontegaard

    ra, qa, dropped_a = monotone_curve(*anchor)
    rt, qt, dropped_t = monotone_curve(*test)
    if len(ra) < 2 or len(rt) < 2:
        return BdValue(None, "fewer than 2 usable rate points")
    axis_a, axis_t = (qa, qt) if kind == "rate" else (np.log10(ra), np.log10(rt))
    overlap = _overlap(axis_a, axis_t)
    if overlap == 0:
        return BdValue(None, "curves do not overlap")
    notes = []
    if overlap < MIN_OVERLAP:
        notes.append(f"only {overlap:.0%} overlap")
    if dropped_a or dropped_t:
        notes.append(f"{dropped_a + dropped_t} non-monotonic point(s) dropped")
    func = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = float(func(ra, qa, rt, qt, method=METHOD, require_matching_points=False, min_overlap=0))
        except (ValueError, AssertionError) as exc:
            return BdValue(None, f"interpolation failed: {exc}")
    if not math.isfinite(value):
        return BdValue(None, "not finite")
    return BdValue(value, "; ".join(notes))


def bd_rate(rate_anchor, dist_anchor, rate_test, dist_test) -> BdValue:
    """BD-rate in percent (negative: the test codec needs fewer bits for the same quality)."""
    return _delta("rate", (rate_anchor, dist_anchor), (rate_test, dist_test))


def bd_quality(rate_anchor, dist_anchor, rate_test, dist_test) -> BdValue:
    """BD-PSNR (dB) or BD-MS-SSIM: average quality gain of the test codec at equal rate."""
    return _delta("quality", (rate_anchor, dist_anchor), (rate_test, dist_test))


def average(values: Sequence[BdValue]) -> BdValue:
    """Mean of the defined per-sequence values; the note says how many sequences it covers."""
    defined = [v.value for v in values if v.value is not None]
    if not defined:
        return BdValue(None, "no sequence has a value")
    notes = [] if len(defined) == len(values) else [f"over {len(defined)} of {len(values)} sequences"]
    if any(v.note for v in values if v.value is not None):
        notes.append("includes flagged values")
    return BdValue(float(np.mean(defined)), "; ".join(notes))
