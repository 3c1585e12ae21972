"""VMAF (vmaf_v0.6.1) of a frame stream, computed by vmaf-torch in chunks with bounded memory.

VMAF's motion feature for frame i needs frames i-1 and i+1, so frames are scored in chunks that
carry one frame of context on each side: every frame gets exactly the score a whole-video run
would give it, while only CHUNK + 2 luma planes are held at a time. vmaf-torch reproduces libvmaf
within about 0.03 per frame (measured by its authors; see ../shared/design/toolchain-notes.md).
"""

from __future__ import annotations

import numpy as np
import torch

CHUNK = 16


def vmaf_available() -> bool:
    try:
        import vmaf_torch  # noqa: F401
    except ImportError:
        return False
    return True


class StreamingVmaf:
    """push(ref_y, dist_y) frame by frame, then finish() -> per-frame VMAF scores in order."""

    def __init__(self):
        from vmaf_torch import VMAF

        self._model = VMAF(temporal_pooling=False, enable_motion=True, clip_score=True).eval()
        self._buf: list[tuple[np.ndarray, np.ndarray]] = []
        self._buf_start = 0  # global index of _buf[0]
        self.scores: list[float] = []

    def push(self, ref_y: np.ndarray, dist_y: np.ndarray) -> None:
        self._buf.append((ref_y, dist_y))
        if len(self._buf) >= CHUNK + 2:
            self._score(final=False)

    def finish(self) -> list[float]:
        if self._buf:
            self._score(final=True)
        return self.scores

    @torch.no_grad()
    def _score(self, final: bool) -> None:
        ref = torch.from_numpy(np.stack([r for r, _ in self._buf]).astype(np.float32))[:, None]
        dist = torch.from_numpy(np.stack([d for _, d in self._buf]).astype(np.float32))[:, None]
        values = self._model(ref, dist).flatten().tolist()
        first = len(self.scores) - self._buf_start  # local index of the first unscored frame
        last = len(self._buf) if final else len(self._buf) - 1  # keep the last frame as next-context
        self.scores += values[first:last]
        keep_from = len(self.scores) - 1 - self._buf_start  # previous-context frame for the next chunk
        self._buf = self._buf[keep_from:]
        self._buf_start += keep_from
