"""One error hierarchy: the CLI turns any :class:`PnaError` into one line and exit code 2."""

from __future__ import annotations

import os

__all__ = ["PnaError", "ConfigError", "InputError", "PipelineError"]


class PnaError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class ConfigError(PnaError, ValueError):
    """A configuration file is missing, malformed or inconsistent."""


class InputError(PnaError, ValueError):
    """An input cannot be used at all (missing file, wrong columns, broken encoding).

    Parameters
    ----------
    file
        The file (or input name) at fault.
    reason
        What is wrong, in plain words.
    row
        1-based line of the file where that applies.
    """

    def __init__(self, file: str | os.PathLike[str], reason: str, row: int | None = None):
        self.file, self.reason, self.row = str(file), reason, row
        where = f"{file}" + (f", row {row}" if row is not None else "")
        super().__init__(f"{where}: {reason}")


class PipelineError(PnaError):
    """The stages were wired wrongly (a missing input, a cycle) or a stage broke its contract."""
