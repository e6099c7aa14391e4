"""What the command line prints besides its own results: warnings as one line each, no third-party progress bars.

Python shows a warning as ``path/to/file.py:123: UserWarning: ...`` plus the source line that raised it, which
reads like a crash to a user; transformers and huggingface_hub draw their own progress bars ("Loading weights"),
even into log files. Inside a command both are replaced for its duration (the library, used from Python, is left
as it is): a warning is ``mmadapt <command>: warning: <message>``, and third-party bars are off (mmadapt's own
step bar is unaffected). Log records read the same way (:class:`CommandLogFormatter`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["CommandLogFormatter", "command_output"]

_HF_BARS = "HF_HUB_DISABLE_PROGRESS_BARS"


@contextlib.contextmanager
def command_output(command: str) -> Iterator[None]:
    """Warnings as single lines naming `command`, and no transformers/huggingface_hub progress bars, inside."""
    previous_format = warnings.formatwarning

    def one_line(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> str:
        text = " ".join(str(message).split())
        kind = "" if category is UserWarning else f"{category.__name__}: "
        return f"mmadapt {command}: warning: {kind}{text}\n"

    warnings.formatwarning = one_line  # type: ignore[assignment]
    user_choice = os.environ.get(_HF_BARS) is not None  # a user's own setting wins (huggingface_hub's rule too)
    transformers_bars = False
    if not user_choice:
        os.environ[_HF_BARS] = "1"  # read when huggingface_hub / transformers are first imported
        transformers_bars = _set_transformers_bars(False)
    try:
        yield
    finally:
        warnings.formatwarning = previous_format
        if not user_choice:
            del os.environ[_HF_BARS]
        if transformers_bars:  # imported before the command: as it was (imported during it: off, as the env said)
            _set_transformers_bars(True)


class CommandLogFormatter(logging.Formatter):
    """Log records as ``mmadapt train: warning: <message>``, like the command's warnings and errors; with
    ``-vv`` (debug) the logger's name is added so the source can be found."""

    def __init__(self, command: str, with_names: bool = False) -> None:
        super().__init__()
        self.command, self.with_names = command, with_names

    def format(self, record: logging.LogRecord) -> str:
        where = f" [{record.name}]" if self.with_names else ""
        return f"mmadapt {self.command}: {record.levelname.lower()}: {record.getMessage()}{where}"


def _set_transformers_bars(enabled: bool) -> bool:
    """Switch transformers' bars if it is imported already; returns whether they were on."""
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is None:
        return False
    was_on = bool(hf_logging.is_progress_bar_enabled())
    (hf_logging.enable_progress_bar if enabled else hf_logging.disable_progress_bar)()
    return was_on
