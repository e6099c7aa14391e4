"""prep_faces on a real face: the crop follows a known motion, misses reuse the last box, output is readable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmadapt.data.annotations import read_annotation_list
from mmadapt.data.config import DataConfig
from mmadapt.data.dataset import FrameFolderDataset
from mmadapt.data.faces import FaceCropConfig, prep_faces, square_box
from mmadapt.data.transforms import TransformConfig
from mmadapt.errors import ConfigError
from tests.data._media import write_mp4

pytest.importorskip("facenet_pytorch")
skimage_data = pytest.importorskip("skimage.data")

WINDOW, SHIFT, FRAMES, BLANK = 256, 10, 6, 3  # frame BLANK shows no face


def _moving_face_clip() -> np.ndarray:
    """The astronaut's face panned left by SHIFT px per frame (a 256 px window sliding right); one blank frame."""
    image = skimage_data.astronaut()  # (512, 512, 3), face near x 180-270, y 60-175
    frames = np.stack([image[30 : 30 + WINDOW, 60 + SHIFT * k : 60 + SHIFT * k + WINDOW] for k in range(FRAMES)])
    frames[BLANK] = 128
    return frames


def test_crop_follows_the_face(tmp_path: Path) -> None:
    video = write_mp4(tmp_path / "astronaut.mp4", _moving_face_clip(), codec="libx264")
    report = prep_faces([video], tmp_path / "faces", [3], FaceCropConfig(size=64, min_face_size=40))
    clip = report.clips[0]
    assert clip.num_frames == FRAMES and clip.detected.tolist() == [k != BLANK for k in range(FRAMES)]
    assert (report.frames, report.frames_without_face, report.frames_centre_crop) == (FRAMES, 1, 0)
    centres = (clip.boxes[:, :2] + clip.boxes[:, 2:]) / 2  # (F, 2)
    seen = [k for k in range(FRAMES) if k != BLANK]
    steps = np.diff(centres[seen, 0]) / np.diff(seen)
    assert np.all(np.abs(steps + SHIFT) <= 3), steps  # the face moves left by SHIFT px per frame
    assert np.all(np.abs(centres[seen, 1] - centres[seen[0], 1]) <= 3)
    np.testing.assert_array_equal(clip.boxes[BLANK], clip.boxes[BLANK - 1])  # a miss reuses the last box
    side = clip.boxes[:, 2] - clip.boxes[:, 0]
    assert np.all(side == clip.boxes[:, 3] - clip.boxes[:, 1]) and np.all((60 < side) & (side < 160))

    crops = sorted((tmp_path / "faces" / "astronaut").glob("*.jpg"))
    assert [p.name for p in crops] == [f"{k:05d}.jpg" for k in range(1, FRAMES + 1)]
    first = np.asarray(Image.open(crops[0]))
    assert first.shape == (64, 64, 3)
    records = read_annotation_list(report.annotation_file, num_classes=7)
    assert [(r.frame_dir, r.num_frames, r.label) for r in records] == [(tmp_path / "faces" / "astronaut", FRAMES, 3)]
    cfg = DataConfig(num_frames=4, missing_audio="zeros", transform=TransformConfig(img_size=32))
    item = FrameFolderDataset(report.annotation_file, cfg, num_classes=7)[0]
    video_tensor, label = item["video"], item["label"]
    assert video_tensor.shape == (4, 3, 32, 32) and label == 3
    with pytest.raises(ConfigError, match="already exist"):
        prep_faces([video], tmp_path / "faces", [3], FaceCropConfig(size=64))


class _NeverFinds:
    def detect(self, imgs: np.ndarray) -> tuple[list[None], list[None]]:
        return [None] * len(imgs), [None] * len(imgs)


def test_no_face_at_all_gives_centre_crops(tmp_path: Path) -> None:
    frames = np.zeros((3, 40, 60, 3), dtype=np.uint8)
    video = write_mp4(tmp_path / "empty.mp4", frames)
    report = prep_faces([video], tmp_path / "out", [0], FaceCropConfig(size=16), detector=_NeverFinds())
    np.testing.assert_array_equal(report.clips[0].boxes, np.tile([10, 0, 50, 40], (3, 1)))
    assert (report.frames_without_face, report.frames_centre_crop) == (3, 3)


def test_square_box_stays_in_frame() -> None:
    assert square_box((10, 20, 30, 60), 100, 100) == (0, 20, 40, 60)
    assert square_box((90, 90, 120, 110), 100, 100, margin=0.5) == (55, 55, 100, 100)
    assert square_box((0, 0, 500, 300), 100, 80) == (0, 20, 80, 100)  # side = width, centre row kept in frame
    with pytest.raises(ConfigError, match="distinct file names"):
        prep_faces(["a/x.mp4", "b/x.mp4"], "unused", [0, 1], detector=_NeverFinds())
