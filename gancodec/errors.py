"""Error classes, each mapped to a process exit code by the CLI.

Every error carries a one-line message naming the problem and, where known, the file.
"""

from __future__ import annotations


class GancodecError(Exception):
    """Base class. `exit_code` is what the CLI returns."""

    exit_code = 1


class UsageError(GancodecError):
    """Invalid flags or arguments."""

    exit_code = 2


class InputError(GancodecError):
    """A missing, unreadable or unsupported input file."""

    exit_code = 1


class BitstreamError(GancodecError):
    """A corrupt, truncated or unsupported .gcv file."""

    exit_code = 3


class OutputExistsError(GancodecError):
    """The output exists and overwriting was not allowed (-y)."""

    exit_code = 4


class ModelError(GancodecError):
    """Missing weights, or weights that do not match a stream."""

    exit_code = 3
