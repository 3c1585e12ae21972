"""Safe output files: never overwrite without permission, never leave a half-written file.

"-" names standard input or output, as in ffmpeg and x264: a video streams through a pipe as it is
read or written; a .gcv, whose header and index are written last and read first, goes through a
temporary file (the compressed stream, not the video).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gancodec.errors import GancodecError, InputError, OutputExistsError, UsageError

STDIO = "-"
SPOOL_IN_MEMORY = 64 << 20  # a .gcv read from stdin stays in memory up to this size, then goes to disk


def is_stdio(path: str | os.PathLike | None) -> bool:
    """True for "-", standard input or output (a file of that name is "./-")."""
    return path is not None and str(path) == STDIO


def check_output(output: str | os.PathLike, overwrite: bool, inputs: tuple = ()) -> Path:
    """Refuses an output that exists (without overwrite) or that is one of the inputs."""
    out = Path(output)
    if is_stdio(output):
        return out
    for src in inputs:
        if src is not None and Path(src).exists() and out.exists() and out.resolve() == Path(src).resolve():
            raise UsageError(f"output would overwrite the input ({out})")
    if out.is_dir():
        raise UsageError(f"output is a directory ({out})")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"output exists ({out}) — use -y to overwrite")
    if not out.parent.exists():
        raise UsageError(f"output folder does not exist ({out.parent})")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise GancodecError(f"cannot write output: permission denied ({out})")
    return out


@contextlib.contextmanager
def video_output(output: str | os.PathLike) -> Iterator[str | Path]:
    """Like atomic_output() for a video writer, but "-" is yielded as it is: a video streams to
    standard output as it is written (raw or y4m into a player, say), not after the last frame."""
    if is_stdio(output):
        yield STDIO
        return
    with atomic_output(output) as tmp:
        yield tmp


@contextlib.contextmanager
def atomic_output(output: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `output`; renames it over `output` only on success.

    For "-" the temporary file is in the system's temporary folder and its bytes go to standard
    output on success (for files that are patched after they are written, like a .gcv)."""
    if is_stdio(output):
        with tempfile.TemporaryDirectory(prefix="gancodec-") as folder:
            tmp = Path(folder) / "stdout"
            yield tmp
            with open(tmp, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return
    out = Path(output)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part" + out.suffix, dir=out.parent)
    except OSError as exc:
        raise GancodecError(f"cannot write output: {exc.strerror.lower()} ({out})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the output should get normal permissions
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise GancodecError(f"disk full while writing ({out})") from None
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def open_gcv(path: str | os.PathLike):
    """Opens a .gcv for reading, with one-line errors for the usual problems. "-" reads standard
    input into a temporary file (in memory while small): the reader seeks."""
    if is_stdio(path):
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
        shutil.copyfileobj(sys.stdin.buffer, spool)
        spool.seek(0)
        return spool
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file ({p})")
    if p.is_dir():
        raise InputError(f"is a directory, not a .gcv file ({p})")
    try:
        return open(p, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror} ({p})") from None
