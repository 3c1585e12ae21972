"""Unreadable inputs and unwritable output folders (issue #5).

Root may read and write anything, so as root these tests run the CLI in a subprocess without the
capabilities that let root ignore file modes; as a normal user they run it directly. Either way
the check is real: the kernel refuses the access, not a mocked `os.access`.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_clip

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_file_override_capabilities() -> None:
    """Runs in the child before exec: removes root's power to ignore file permissions.

    Dropped from the bounding set, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH are not in the
    permitted set of the program we exec, so uid 0 gets the ordinary owner checks (mode 000 is
    unreadable, 0555 is unwritable) while it can still run our interpreter, which lives under /root.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_cli(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    as_root = os.geteuid() == 0
    if as_root and not sys.platform.startswith("linux"):
        pytest.skip("root without Linux capabilities: permissions cannot be enforced")
    return subprocess.run(
        [sys.executable, "-m", "gancodec", *args], capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "HOME": str(tmp)}, preexec_fn=_drop_file_override_capabilities if as_root else None,
    )  # fmt: skip


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_unreadable_input_is_a_clear_error(tmp_path):
    src = write_clip(tmp_path / "secret.mkv", 32, 32, 2)
    src.chmod(0o000)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    line = one_error_line(run_cli(["encode", str(src), "-o", str(out_dir / "o.gcv"), "-q"], tmp_path))
    assert "permission denied" in line and "secret.mkv" in line
    assert list(out_dir.iterdir()) == []


def test_unwritable_output_folder_is_a_clear_error(tmp_path):
    src = write_clip(tmp_path / "clip.mkv", 32, 32, 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    line = one_error_line(run_cli(["encode", str(src), "-o", str(locked / "o.gcv"), "-q"], tmp_path))
    assert "permission denied" in line and "locked" in line
    assert list(locked.iterdir()) == []
