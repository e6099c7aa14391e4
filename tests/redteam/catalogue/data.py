"""Data (issue 13 items 9, 11): manifests and annotation lists with bad rows, non-UTF-8 text and missing files;
media that is text, random bytes, truncated, or an image renamed ``.mp4``. Every error names the file (and line);
a corrupt file is never diagnosed as "audio not found (missing_audio='zeros' allows it)".
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from mmadapt.data import DataConfig
from mmadapt.data.annotations import read_annotation_list
from mmadapt.data.dataset import VideoManifestDataset
from mmadapt.data.fbank import FbankConfig
from mmadapt.data.manifest import read_manifest
from mmadapt.data.transforms import TransformConfig
from mmadapt.demo.scenes import make_synthetic_dataset
from tests.data._media import TINY, write_mp4, write_wav

from ..case import Case, Catalogue
from ._tmp import fresh_dir

AREA = "data"
NUM_CLASSES = 6
ZEROS_ADVICE = "missing_audio='zeros'"


@cache
def _clips() -> tuple[Path, ...]:
    """Real mp4 clips with audio (one per class)."""
    data = make_synthetic_dataset(fresh_dir() / "synthetic", n_per_class=2, seed=3, config=TINY)
    return tuple(sorted((data.root / "clips").rglob("*.mp4")))


def _config(**overrides: Any) -> DataConfig:
    base = {"num_frames": 4, "transform": TransformConfig(img_size=16), "audio": FbankConfig(target_frames=32)}
    return DataConfig(**{**base, **overrides})


# ---- manifests and lists ------------------------------------------------------------------------------------
def _text_file(name: str, content: str | bytes) -> Path:
    path = fresh_dir() / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def _manifest(name: str, content: str | bytes, **kw: Any) -> Callable[[], Any]:
    return lambda: [r.label for r in read_manifest(_text_file(name, content), num_classes=NUM_CLASSES, **kw)]


def _labels(expected: list[int]) -> Callable[[Any], str | None]:
    return lambda got: None if got == expected else f"labels {got}, expected {expected}"


CSV_BAD_ROWS: dict[str, tuple[str, str]] = {
    "label-word-without-names": ("a.mp4,,happy", "happy"),
    "label-out-of-range": ("a.mp4,,6", "6"),
    "label-negative": ("a.mp4,,-1", "-1"),
    "label-empty": ("a.mp4,,", "label"),
    "label-float": ("a.mp4,,2.5", "2.5"),
    "video-empty": (",,1", "video"),
    "too-many-fields": ("a.mp4,,1,extra", "more fields"),
}
JSONL_BAD_ROWS: dict[str, tuple[str, str]] = {
    "label-bool": ('{"video": "a.mp4", "label": true}', "True"),
    "label-null": ('{"video": "a.mp4", "label": null}', "label"),
    "label-list": ('{"video": "a.mp4", "label": [1]}', "label"),
    "label-float": ('{"video": "a.mp4", "label": 1.0}', "label"),
    "video-missing": ('{"label": 1}', "video"),
    "video-int": ('{"video": 3, "label": 1}', "video"),
    "audio-int": ('{"video": "a.mp4", "audio": 3, "label": 1}', "audio"),
    "invalid-json": ('{"video": "a.mp4", "label": 1', "JSON"),
    "a-list": ('["a.mp4", 1]', "list"),
}
LIST_BAD_ROWS: dict[str, tuple[str, str]] = {
    "two-fields": ("clips/a 10", "clips/a 10"),
    "count-word": ("clips/a ten 1", "ten"),
    "label-word": ("clips/a 10 happy", "happy"),
    "count-zero": ("clips/a 0 1", "num_frames"),
    "label-out-of-range": ("clips/a 10 6", "6"),
    "label-negative": ("clips/a 10 -1", "-1"),
}


def _manifest_cases(cat: Catalogue) -> None:
    header = "video,audio,label\n"
    for name, (row, token) in CSV_BAD_ROWS.items():
        cat.add(f"csv/{name}", 9, _manifest("m.csv", header + "ok.mp4,,0\n" + row + "\n"), token=("m.csv:3", token))
    for name, (row, token) in JSONL_BAD_ROWS.items():
        cat.add(
            f"jsonl/{name}",
            9,
            _manifest("m.jsonl", '{"video": "ok.mp4", "label": 0}\n' + row + "\n"),
            token=("m.jsonl:2", token),
        )
    for name, (row, token) in LIST_BAD_ROWS.items():

        def run(r: str = row) -> object:
            return read_annotation_list(_text_file("list.txt", f"clips/ok 10 0\n{r}\n"), NUM_CLASSES)

        cat.add(f"list/{name}", 9, run, token=("list.txt:2", token))
    whole = {
        "csv/no-label-column": ("m.csv", "video\na.mp4\n", "label"),
        "csv/empty": ("m.csv", "", "m.csv"),
        "csv/header-only": ("m.csv", header, "no clips"),
        "csv/latin-1": ("m.csv", (header + "caf\xe9.mp4,,0\n").encode("latin-1"), "UTF-8"),
        "csv/binary": ("m.csv", os.urandom(512), "m.csv"),
        "jsonl/empty": ("m.jsonl", "", "no clips"),
        "jsonl/latin-1": ("m.jsonl", '{"video": "caf\xe9.mp4", "label": 0}\n'.encode("latin-1"), "UTF-8"),
        "suffix-txt": ("m.txt", header + "a.mp4,,0\n", "m.txt"),
    }
    for name, (file, content, token) in whole.items():
        cat.add(name, 9, _manifest(file, content), token=token)
    cat.add("csv/missing", 9, lambda: read_manifest(fresh_dir() / "gone.csv"), token="gone.csv")
    cat.add("csv/a-folder", 9, lambda: read_manifest(_folder("m.csv")), token="m.csv")
    cat.add(
        "csv/class-names",
        9,
        _manifest("m.csv", header + "a.mp4,,happy\nb.mp4,,sad\n", class_names=["sad", "happy"]),
        expect=("ok",),
        check=_labels([1, 0]),
    )
    cat.add(
        "csv/crlf-and-spaces",
        9,
        _manifest("m.csv", "video,audio,label\r\n a.mp4 ,, 2 \r\n"),
        expect=("ok",),
        check=_labels([2]),
    )
    cat.add(
        "csv/utf8-bom",
        9,
        _manifest("m.csv", "\ufeffvideo,audio,label\na.mp4,,1\n"),
        expect=("ok", "clear"),
        check=_labels([1]),
        token="m.csv",
    )
    cat.add(
        "list/latin-1",
        9,
        lambda: read_annotation_list(_text_file("list.txt", "clips/caf\xe9 10 0\n".encode("latin-1")), NUM_CLASSES),
        token=("list.txt", "UTF-8"),
    )
    cat.add(
        "list/only-comments",
        9,
        lambda: read_annotation_list(_text_file("list.txt", "# none\n\n"), NUM_CLASSES),
        token="no clips",
    )
    cat.add("list/missing", 9, lambda: read_annotation_list(fresh_dir() / "gone.txt", NUM_CLASSES), token="gone.txt")
    cat.add(
        "list/folder-with-spaces",
        9,
        lambda: [r.label for r in read_annotation_list(_text_file("list.txt", "clips/my clip 10 3\n"), NUM_CLASSES)],
        expect=("ok",),
        check=_labels([3]),
    )


def _folder(name: str) -> Path:
    path = fresh_dir() / name
    path.mkdir()
    return path


# ---- media --------------------------------------------------------------------------------------------------
def _png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 120, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _item(
    make_video: Callable[[Path], None], audio: Callable[[Path], Path | None] | None = None, **config: Any
) -> Callable[[], Any]:
    def run() -> Any:
        folder = fresh_dir()
        make_video(folder / "clip.mp4")
        audio_path = audio(folder) if audio else None
        row = f"clip.mp4,{audio_path.name if audio_path else ''},1\n"
        manifest = folder / "m.csv"
        manifest.write_text("video,audio,label\n" + row, encoding="utf-8")
        return VideoManifestDataset(manifest, _config(**config), num_classes=NUM_CLASSES)[0]

    return run


def _copy_clip(fraction: float = 1.0, size: int | None = None) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        data = _clips()[0].read_bytes()
        path.write_bytes(data[: size or max(1, int(len(data) * fraction))])

    return make


def _video_only(path: Path) -> None:
    write_mp4(path, np.full((6, 32, 32, 3), 90, np.uint8), fps=TINY.fps)


def _good_item(item: Any) -> str | None:
    video, audio = item.get("video"), item.get("audio")
    if video is None or audio is None:
        return f"item lacks a stream: {sorted(item)}"
    if video.shape[0] != 4 or not video.isfinite().all() or not audio.isfinite().all():
        return f"unexpected video {tuple(video.shape)} / audio {tuple(audio.shape)}"
    return None


def _wav(kind: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "voice.wav"
        if kind == "good":
            write_wav(path, (np.random.default_rng(0).standard_normal((1, 16000)) * 3000).astype(np.int16), 16000)
        elif kind == "text":
            path.write_text("not audio", encoding="utf-8")
        elif kind == "empty":
            path.write_bytes(b"")
        return path  # "missing": never written

    return make


def _media_cases(cat: Catalogue) -> None:
    name = ("clip.mp4",)
    cat.add("media/good-clip", 9, _item(_copy_clip()), expect=("ok",), check=_good_item)
    cat.add("media/good-clip-separate-wav", 9, _item(_copy_clip(), _wav("good")), expect=("ok",), check=_good_item)
    bad = {
        "text": lambda p: p.write_text("hello, not a video\n", encoding="utf-8"),
        "random-bytes": lambda p: p.write_bytes(os.urandom(8192)),
        "empty": lambda p: p.write_bytes(b""),
        "a-folder": lambda p: p.mkdir(),
        "missing": lambda p: None,
        "truncated-300-bytes": _copy_clip(size=300),
        "truncated-half": _copy_clip(0.5),
        "truncated-90%": _copy_clip(0.9),
    }
    for label, make in bad.items():
        cat.add(f"media/{label}", 11, _item(make), token=name, forbid=(ZEROS_ADVICE,))
    cat.add(
        "media/truncated-last-byte",
        11,
        _item(_copy_clip(size=-1)),
        expect=("clear", "ok"),
        check=_good_item,
        token=name,
        forbid=(ZEROS_ADVICE,),
    )  # the last byte of the index: it may still decode, completely
    for label, make in {
        "png-renamed": lambda p: p.write_bytes(_png_bytes()),
        "jpeg-renamed": lambda p: p.write_bytes(_jpeg_bytes()),
    }.items():
        cat.add(f"media/{label}", 11, _item(make), token=name, forbid=(ZEROS_ADVICE,))
    cat.add("media/video-only-mp4", 9, _item(_video_only), token=("clip.mp4", "audio"))
    cat.add(
        "media/video-only-mp4-zeros", 9, _item(_video_only, missing_audio="zeros"), expect=("ok",), check=_good_item
    )
    for kind in ("text", "empty", "missing"):
        cat.add(f"media/wav-{kind}", 9, _item(_copy_clip(), _wav(kind)), token="voice.wav")


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    _manifest_cases(cat)
    _media_cases(cat)
    return cat.cases
