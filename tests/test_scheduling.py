"""SVT-AV1 must not leave the process on real-time scheduling (it does so when run as root)."""

from __future__ import annotations

import os

import pytest

from gancodec.bench.baselines import encode_frames
from gancodec.models.yuv import YuvFrame


@pytest.mark.skipif(not hasattr(os, "sched_getscheduler"), reason="Linux scheduling API")
def test_svtav1_encode_leaves_normal_scheduling():
    import numpy as np

    frame = YuvFrame(
        np.full((64, 64), 100, np.uint8), np.full((32, 32), 128, np.uint8), np.full((32, 32), 128, np.uint8)
    )
    encode_frames("svtav1", [frame] * 3, 64, 64, 30, 40, 32)
    policies = {int(t): os.sched_getscheduler(int(t)) for t in os.listdir("/proc/self/task")}
    assert set(policies.values()) == {os.SCHED_OTHER}, policies
