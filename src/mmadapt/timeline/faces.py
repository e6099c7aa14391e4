"""Face tracking over a timeline: MTCNN on each sampled frame, the crop following the face from frame to frame.

Rule, per sampled frame of a window: its own detection (the largest face, made square as ``prep-faces`` does);
else the last box detected at most ``max_gap`` seconds earlier (a blink, a turned head); else the box of the
window's detection nearest in time (the face enters mid-window). A window none of whose frames has a detection of
its own has no face: :meth:`FaceTracker.crops` returns None and the timeline reports it instead of inventing a
prediction. Each frame is detected once, however many overlapping windows sample it.

Shape legend: K*T sampled frames of a window, H, W frame size, S crop size.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from ..data.faces import FaceCropConfig, FaceDetector, square_box

__all__ = ["FaceTracker", "WindowFaces"]


class WindowFaces:
    """Crops and counts of one window."""

    def __init__(self, crops: np.ndarray | None, detected: np.ndarray, boxes: np.ndarray | None) -> None:
        self.crops = crops
        """uint8 (K*T, S, S, 3) face crops, or None when the window has no face."""
        self.detected = detected
        """bool (K*T,): the frame's own detection found a face."""
        self.boxes = boxes
        """int (K*T, 4) square crop boxes x1, y1, x2, y2 in frame pixels, or None."""

    @property
    def found(self) -> bool:
        return bool(self.detected.any())


class FaceTracker:
    """Detections of the frames seen so far, by frame index and by time (for the last-box rule)."""

    def __init__(self, detector: FaceDetector, config: FaceCropConfig, max_gap: float) -> None:
        self.detector = detector
        self.config = config
        self.max_gap = max_gap
        self._by_index: dict[int, tuple[int, int, int, int] | None] = {}
        self._times: list[float] = []  # sorted times of frames with a detection
        self._boxes: list[tuple[int, int, int, int]] = []  # their square boxes, same order

    def _detect(self, indices: Sequence[int], times: np.ndarray, frames: np.ndarray) -> None:
        from ..data.faces import largest_boxes

        todo = sorted({(int(i), j) for j, i in enumerate(indices) if int(i) not in self._by_index})
        if not todo:
            return
        height, width = frames.shape[1:3]
        images = np.stack([frames[j] for _, j in todo])  # (n, H, W, 3)
        for (i, j), box in zip(todo, largest_boxes(self.detector, images, self.config.batch_size), strict=True):
            square = None if box is None else square_box(box, height, width, self.config.margin)
            self._by_index[i] = square
            if square is not None:
                at = bisect.bisect(self._times, float(times[j]))
                self._times.insert(at, float(times[j]))
                self._boxes.insert(at, square)

    def _last_box(self, t: float) -> tuple[int, int, int, int] | None:
        at = bisect.bisect_left(self._times, t)  # detections strictly before t
        if at and t - self._times[at - 1] <= self.max_gap:
            return self._boxes[at - 1]
        return None

    def forget_before(self, t: float) -> None:
        """Drop what no frame at or after ``t`` can reuse (keeps memory flat over a long video)."""
        cut = bisect.bisect_left(self._times, t - self.max_gap)
        keep = max(cut - 1, 0)  # the last detection before the cut may still be the latest one
        del self._times[:keep], self._boxes[:keep]
        if len(self._by_index) > 4096:
            recent = sorted(self._by_index)[-1024:]
            self._by_index = {i: self._by_index[i] for i in recent}

    def crops(self, indices: Sequence[int], times: np.ndarray, frames: np.ndarray) -> WindowFaces:
        """Track the faces of one window's sampled frames (uint8 (K*T, H, W, 3)) and crop them."""
        from PIL import Image

        self._detect(indices, times, frames)
        own = [self._by_index[int(i)] for i in indices]
        detected = np.array([b is not None for b in own])
        if not detected.any():
            return WindowFaces(None, detected, None)
        hits = np.flatnonzero(detected)
        boxes = []
        for j, box in enumerate(own):
            if box is None:
                box = self._last_box(float(times[j]))
            if box is None:
                nearest = hits[np.argmin(np.abs(times[hits] - times[j]))]
                box = own[nearest]
            boxes.append(box)
        size = self.config.size
        crops = np.stack(
            [
                np.asarray(
                    Image.fromarray(image[y1:y2, x1:x2]).resize((size, size), Image.Resampling.BILINEAR)
                )  # as prep-faces saves its crops (before JPEG)
                for image, (x1, y1, x2, y2) in zip(frames, boxes, strict=True)
            ]
        )  # (K*T, S, S, 3)
        return WindowFaces(crops, detected, np.asarray(boxes, dtype=int))
