"""What the command line prints besides its own results: warnings as one line each, no third-party progress bars.

Python shows a warning as ``path/to/file.py:123: UserWarning: ...`` plus the source line that raised it, which
reads like a crash to a user; transformers and huggingface_hub draw their own progress bars ("Loading weights"),
even into log files. Inside a command both are replaced for its duration (the library, used from Python, is left
as it is): a warning is ``mmadapt <command>: warning: <message>``, and third-party bars are off (mmadapt's own
step bar is unaffected).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["command_output"]

_HF_BARS = "HF_HUB_DISABLE_PROGRESS_BARS"


@contextlib.contextmanager
def command_output(command: str) -> Iterator[None]:
    """Warnings as single lines naming `command`, and no transformers/huggingface_hub progress bars, inside."""
    previous_format = warnings.formatwarning
    previous_env = os.environ.get(_HF_BARS)

    def one_line(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> str:
        text = " ".join(str(message).split())
        kind = "" if category is UserWarning else f"{category.__name__}: "
        return f"mmadapt {command}: warning: {kind}{text}\n"

    warnings.formatwarning = one_line  # type: ignore[assignment]
    os.environ[_HF_BARS] = "1"  # read when transformers is first imported
    imported_before = "transformers.utils.logging" in sys.modules
    transformers_bars = _set_transformers_bars(False)
    try:
        yield
    finally:
        warnings.formatwarning = previous_format
        if previous_env is None:
            os.environ.pop(_HF_BARS, None)
        else:
            os.environ[_HF_BARS] = previous_env
        if transformers_bars or (not imported_before and previous_env is None):  # as if the command never ran
            _set_transformers_bars(True)


def _set_transformers_bars(enabled: bool) -> bool:
    """Switch transformers' bars if it is imported already; returns whether they were on."""
    logging = sys.modules.get("transformers.utils.logging")
    if logging is None:
        return False
    was_on = bool(logging.is_progress_bar_enabled())
    (logging.enable_progress_bar if enabled else logging.disable_progress_bar)()
    return was_on
