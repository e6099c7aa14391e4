"""Errors of the data pipeline. Each names the file (and line) at fault so a bad dataset is fixed, not debugged."""

from __future__ import annotations

import os

from mmadapt.errors import MMAdaptError

__all__ = ["AnnotationError", "DataFileError", "DecodeError"]


class DataFileError(MMAdaptError, ValueError):
    """A data file is missing, empty or inconsistent with the configuration (rate, size, count)."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DecodeError(DataFileError):
    """A media file (mp4, wav, frame image) exists but cannot be decoded."""


class AnnotationError(MMAdaptError, ValueError):
    """A line of an annotation list or manifest is malformed or holds an invalid label."""

    def __init__(self, path: str | os.PathLike[str], line: int, problem: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}")
