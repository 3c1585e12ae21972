"""One-pass average-bitrate control (`gancodec encode --bitrate`), in the spirit of x264's ABR mode:
each frame's quality is chosen so that the stream meets a target video bitrate (no second pass,
no look-ahead). Every record carries its own quality, so the decoder needs nothing new.

The codec's bits respond to the continuous quality about exponentially: on the eval clips q 1 -> 8
multiplies them by ~7.8 (benchmarks/results/intra: 0.149 -> 1.159 bpp), i.e. bits ~ exp(a + SLOPE q).
The controller keeps an offset `a` per frame type (I, P), learnt from every coded frame, and before
each frame picks the quality at which the next `horizon` frames (their I/P mix from the intra
period) would cost what the target allows them, plus a share of the error accumulated so far. The
quality moves at most MAX_STEP per frame, so the picture does not pump. The first frame is coded
twice: once to learn what this video's I-frames cost (a prior from the eval clips can be off by 2x,
and a poor first I-frame is the reference of every P-frame after it), then at the quality chosen.
The quality chosen is the P-frames'; I-frames are coded `intra_boost` higher and P-frames by the
`p_offsets` pattern (models/inter.py), and the plan prices them so (a P-frame at the pattern's mean
cost).
"""

from __future__ import annotations

import math
import re

from gancodec.bitstream import recorded_quality
from gancodec.errors import UsageError
from gancodec.models.intra import QUALITY_MAX, QUALITY_MIN

SLOPE = 0.29  # d ln(bits) / d quality, the eval clips' mean (see above)
PRIOR_BPP = 0.42  # an I-frame's bits per pixel at PRIOR_QUALITY (eval mean), until one is coded
PRIOR_QUALITY = 4.0
P_TO_I = 0.55  # a P-frame's cost relative to an I-frame at one quality, until one is coded (0.44-0.70 measured)
MAX_STEP = 0.25  # the most the quality moves from one frame to the next
ERROR_SHARE = 1.0  # the share of the accumulated surplus or deficit made up over one horizon
LEARNING = 0.5  # weight of the newest frame in a frame type's offset


def parse_bitrate(text: str) -> float:
    """'500k', '1.5M', '800000' (bits per second; k = 1000) -> bits per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKmM]?)\s*", text)
    if not match:
        raise UsageError(f"--bitrate must be a number of bit/s such as 500k or 1.5M (got '{text}')")
    value = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    if value <= 0:
        raise UsageError(f"--bitrate must be positive (got '{text}')")
    return value


class RateController:
    """Chooses each frame's quality for a target bitrate. Call quality() before coding frame
    `index`, then coded() with what that frame cost."""

    def __init__(
        self,
        bits_per_second: float,
        fps: float,
        gop: int,
        pixels: int,
        frames: int | None = None,
        intra_boost: float = 0.0,
        p_offsets: tuple[float, ...] = (),
    ):
        self.frame_budget = bits_per_second / fps  # bits
        self.gop = gop
        self.intra_boost = intra_boost if gop > 1 else 0.0  # as VideoCoder applies it
        # the quality shift at which one P-frame costs what the pattern's P-frames cost on average
        offsets = p_offsets if gop > 1 and p_offsets else (0.0,)
        self.p_shift = math.log(sum(math.exp(SLOPE * o) for o in offsets) / len(offsets)) / SLOPE
        # the frames whose cost the next choice plans for: at least an intra period and a second,
        # fewer near the end of a video of known length (`frames`)
        self.horizon = max(gop, round(fps), 1)
        self.total = frames
        prior = math.log(PRIOR_BPP * pixels) - SLOPE * PRIOR_QUALITY
        self.offset = {"I": prior, "P": prior + math.log(P_TO_I)}
        self.measured = {"I": False, "P": False}
        self.spent = 0.0
        self.frames = 0
        self.last_intra: int | None = None
        self.last_quality: float | None = None
        self.planned: float | None = None

    def quality(self, index: int) -> float:
        """The quality to code frame `index` with (as a record carries it; an I-frame gets
        `intra_boost` more)."""
        horizon = self.horizon if not self.total else max(1, min(self.horizon, self.total - index))
        intra, inter = self._mix(index, horizon)
        allowed = self.frame_budget * horizon + ERROR_SHARE * (self.frame_budget * self.frames - self.spent)
        allowed = max(allowed, 0.1 * self.frame_budget * horizon)  # a deficit never asks for nothing
        unit_cost = (intra * math.exp(self.offset["I"] + SLOPE * self.intra_boost)
                     + inter * math.exp(self.offset["P"] + SLOPE * self.p_shift))  # fmt: skip
        q = (math.log(allowed) - math.log(unit_cost)) / SLOPE
        if self.last_quality is not None:
            q = min(max(q, self.last_quality - MAX_STEP), self.last_quality + MAX_STEP)
        self.planned = recorded_quality(min(max(q, QUALITY_MIN), QUALITY_MAX))
        return self.planned

    def calibrate(self, kind: str, quality: float, bits: int) -> None:
        """Learns what a `kind` frame ("I" or "P") costs from one coded at `quality` in `bits`."""
        observed = math.log(max(bits, 1)) - SLOPE * quality
        if self.measured[kind]:
            self.offset[kind] += LEARNING * (observed - self.offset[kind])
        else:
            self.offset[kind] = observed
            self.measured[kind] = True
        if kind == "I" and not self.measured["P"]:
            self.offset["P"] = observed + math.log(P_TO_I)

    def overhead(self, bits: int) -> None:
        """Bits of the stream that are no frame's (header, audio): the frames make up for them."""
        self.spent += bits

    def coded(self, index: int, kind: str, quality: float, bits: int) -> None:
        """Frame `index` went into the stream as `kind` at `quality` (boosted, for an I-frame),
        costing `bits`."""
        self.calibrate(kind, quality, bits)
        if kind == "I":
            self.last_intra = index
        self.spent += bits
        self.frames += 1
        self.last_quality = self.planned if self.planned is not None else quality  # the frames' pace, unboosted

    def _mix(self, index: int, horizon: int) -> tuple[int, int]:
        """How many of frames index .. index + horizon - 1 the intra period makes I- and P-frames."""
        if self.gop <= 1:
            return horizon, 0
        first = index if self.last_intra is None else self.last_intra + self.gop
        first = max(first, index)
        intra = 0 if first >= index + horizon else 1 + (index + horizon - 1 - first) // self.gop
        return intra, horizon - intra
