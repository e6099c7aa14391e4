"""Errors of the data pipeline. Each names the file (and line) at fault so a bad dataset is fixed, not debugged."""

from __future__ import annotations

import os

from ..errors import MMAdaptError

__all__ = ["AnnotationError", "DataCheckError", "DataFileError", "DecodeError"]


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


class DataCheckError(MMAdaptError, ValueError):
    """The up-front data check (:mod:`mmadapt.data.preflight`) found problems: their count and the first few."""

    def __init__(self, problems: list[str], clips: int, shown: int) -> None:
        self.problems = list(problems)
        head = "; ".join(self.problems[:shown])
        more = f"; and {len(self.problems) - shown} more" if len(self.problems) > shown else ""
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"data check: {len(self.problems)} {noun} in {clips} clips: {head}{more}")
