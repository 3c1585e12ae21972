"""Safe output files: never overwrite without permission, never leave a half-written file."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gancodec.errors import GancodecError, InputError, OutputExistsError, UsageError


def check_output(output: str | os.PathLike, overwrite: bool, inputs: tuple = ()) -> Path:
    """Refuses an output that exists (without overwrite) or that is one of the inputs."""
    out = Path(output)
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
def atomic_output(output: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary path beside `output`; renames it over `output` only on success."""
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
    """Opens a .gcv for reading, with one-line errors for the usual problems."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file ({p})")
    if p.is_dir():
        raise InputError(f"is a directory, not a .gcv file ({p})")
    try:
        return open(p, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror} ({p})") from None
