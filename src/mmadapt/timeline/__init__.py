"""Emotion timelines over whole videos: windows slid over the video, faces tracked, audio resampled, each window
predicted, the result written as CSV, JSON and a plot (``mmadapt predict VIDEO --timeline``).

Modules: ``config`` (:class:`TimelineConfig`), ``windows`` (the window schedule), ``stream`` (streaming decode of
each window's frames and audio), ``faces`` (MTCNN tracking), ``predict`` (:func:`predict_timeline`), ``write``
(files).
"""

from .config import TimelineConfig
from .predict import Timeline, TimelineRow, predict_timeline
from .windows import Window, window_schedule
from .write import write_timeline

__all__ = [
    "Timeline",
    "TimelineConfig",
    "TimelineRow",
    "Window",
    "predict_timeline",
    "window_schedule",
    "write_timeline",
]
