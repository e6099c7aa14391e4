"""Command line (issue 13 items 2-5, 9, 11, 13): argv cases run in-process through ``mmadapt.cli.main``. A refusal
is exit code 2 with ONE stderr line naming the key/value/file and no traceback; exit 1 ("internal error"), a
traceback or several lines are raw. Every scalar key of the experiment config is fed a value of the wrong type.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
import typing
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mmadapt.cli import main
from mmadapt.config_base import ConfigBase, _hints, _init_fields
from mmadapt.data import make_synthetic_dataset
from mmadapt.errors import MMAdaptError
from mmadapt.recipe.experiment import ExperimentConfig
from tests.cli.conftest import TINY_CLIPS, tiny_experiment

from ..case import Case, Catalogue
from ._tmp import fresh_dir
from .config_values import accepts_text, is_size

AREA = "cli"
PRINT = "--print-config"


class CliRefusal(MMAdaptError):
    """A command ended with exit 2 (or 1 for a run that failed, e.g. diverged) and one stderr line naming the error
    (the message is that line; "internal error" is a bug and never a refusal)."""


class CliRaw(RuntimeError):
    """A command ended with a traceback, several stderr lines, or another non-zero exit code."""


def cli(argv: list[str]) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of ``mmadapt argv``; a traceback escaping main is caught and reported."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("ignore")  # random backbones warn; the error line is what is judged
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse
            code = stop.code if isinstance(stop.code, int) else 1
        except Exception as escaped:
            raise CliRaw(f"exception escaped main: {type(escaped).__name__}: {escaped}") from escaped
    return code, out.getvalue(), err.getvalue()


def _judged(argv: Callable[[], list[str]]) -> Callable[[], Any]:
    """Run ``argv()``; a refusal raises CliRefusal/CliRaw so the classifier sees it, a success returns it."""

    def run() -> Any:
        code, stdout, stderr = cli(argv())
        lines = [line for line in stderr.splitlines() if line.strip()]
        if code == 0:
            return code, stdout, stderr
        deliberate = code == 2 or (code == 1 and ": error: " in (lines or [""])[-1])  # 1: a run that failed
        if deliberate and len(lines) == 1 and "Traceback" not in stderr:
            raise CliRefusal(lines[0])
        raise CliRaw(f"exit {code}, {len(lines)} stderr line(s): {' | '.join(lines[-3:])}")

    return run


# ---- workspace ----------------------------------------------------------------------------------------------
@cache
def workspace() -> tuple[Path, Path]:
    """``(root, exp.yaml)``: tests/cli's tiny experiment on 12 synthetic clips."""
    root = fresh_dir()
    data = make_synthetic_dataset(root / "data", n_per_class=2, seed=5, config=TINY_CLIPS)
    config = root / "exp.yaml"
    config.write_text(yaml.safe_dump(tiny_experiment(data)), encoding="utf-8")
    return root, config


def _config() -> str:
    return str(workspace()[1])


@cache
def trained_run() -> Path:
    """A run folder of two optimizer steps (checkpoint, summary, adapter)."""
    out = fresh_dir() / "run"
    code, _, stderr = cli(["train", "--config", _config(), "train.max_steps=2", "--out", str(out)])
    if code != 0:
        raise RuntimeError(f"the reference training failed: {stderr}")
    return out


def _clip() -> str:
    return str(next((workspace()[0] / "data").rglob("*.mp4")))


# ---- generated overrides ------------------------------------------------------------------------------------
def _scalar_keys(cls: type[ConfigBase] = ExperimentConfig, prefix: str = "") -> Iterator[tuple[str, Any]]:
    hints = _hints(cls)
    for name in _init_fields(cls):
        hint = hints[name]
        if isinstance(hint, type) and issubclass(hint, ConfigBase):
            yield from _scalar_keys(hint, f"{prefix}{name}.")
        elif accepts_text(hint, "x") is not None and typing.get_origin(hint) is not dict:
            yield f"{prefix}{name}", hint


def _override_cases(cat: Catalogue) -> None:
    for key, hint in _scalar_keys():
        texts = ["abc", "2.5", "nan", *(["-1"] if is_size(key.rsplit(".", 1)[-1], hint) else [])]
        for text in texts:
            if accepts_text(hint, text) is False:
                argv = lambda k=key, t=text: ["train", "--config", _config(), f"{k}={t}", PRINT]  # noqa: E731
                cat.add(f"override/{key}={text}", 9, _judged(argv), token=(key, text))
    semantic = {
        "train.device=tpu": ("device", "tpu"),
        "train.device=meta": ("device", "meta"),
        "train.loss=focal": ("loss", "focal"),
        "data.sample_rate=16k": ("sample_rate", "16k"),
        "model.preset=mma-dferr": ("mma-dferr",),
        "data.source.dataset=dfwe": ("dfwe",),
        "train.lrr=1": ("lrr",),
        "model.overrides.fusion.latent_dim=abc": ("latent_dim", "abc"),
        "data.transform.img_size='32'": ("img_size", "32"),
        "train.lr=nan": ("lr", "nan"),
        "model.num_classes=6.0": ("num_classes", "6.0"),
        "data.num_frames=4.5": ("num_frames", "4.5"),
        "noequals": ("noequals",),
        "=3": ("=3",),
    }
    for item, token in semantic.items():
        cat.add(
            f"override/semantic/{item}",
            9,
            _judged(lambda i=item: ["train", "--config", _config(), i, PRINT]),
            token=token,
        )


# ---- files and arguments ------------------------------------------------------------------------------------
def _file(name: str, content: str | bytes) -> str:
    path = fresh_dir() / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def _folder(name: str) -> str:
    path = fresh_dir() / name
    path.mkdir()
    return str(path)


def _copied_run(source: Callable[[], Path] | None = None) -> str:
    """A copy of a trained run folder (to run into without touching the shared one)."""
    out = fresh_dir() / "run"
    shutil.copytree((source or trained_run)(), out)
    return str(out)


def checkpointed_run() -> Path:
    """A run folder of one complete epoch (so it holds a training checkpoint)."""
    out = fresh_dir() / "run"
    code, _, stderr = cli(["train", "--config", _config(), "--out", str(out)])
    if code != 0:
        raise RuntimeError(f"the reference training failed: {stderr}")
    return out


def _file_cases(cat: Catalogue) -> None:
    train = ["train", "--config"]
    configs = {
        "missing": (lambda: str(fresh_dir() / "gone.yaml"), "gone.yaml"),
        "a-folder": (lambda: _folder("exp.yaml"), "exp.yaml"),
        "latin-1": (lambda: _file("exp.yaml", "model:\n  preset: caf\xe9\n".encode("latin-1")), "UTF-8"),
        "data-abc": (lambda: _file("exp.yaml", "data: abc\n"), "data"),
        "top-level-list": (lambda: _file("exp.yaml", "- 1\n- 2\n"), "exp.yaml"),
        "invalid-yaml": (lambda: _file("exp.yaml", "model:\n  preset: [mma\n"), "line"),
        "deep-yaml": (lambda: _file("exp.yaml", "[" * 100_000), "exp.yaml"),
        "invalid-json": (lambda: _file("exp.json", '{"model": '), "exp.json"),
        "unknown-section": (lambda: _file("exp.yaml", "modle: {}\n"), "modle"),
        "binary": (lambda: _file("exp.yaml", bytes(range(256))), "exp.yaml"),
    }
    for name, (path, token) in configs.items():
        cat.add(f"config-file/{name}", 9, _judged(lambda p=path: [*train, p(), PRINT]), token=token)
    cat.add(
        "config-file/empty",
        9,
        _judged(lambda: [*train, _file("exp.yaml", ""), PRINT]),
        expect=("ok",),
        check=lambda r: None if "model:" in r[1] else "no config printed",
    )
    cat.add("unknown-command", 9, _judged(lambda: ["trian"]), token="train")
    cat.add(
        "train/out-is-a-file",
        9,
        _judged(lambda: [*train, _config(), "--out", _file("notes.txt", "keep")]),
        token="notes.txt",
    )
    cat.add("train/no-out", 9, _judged(lambda: [*train, _config()]), token="--out")
    cat.add(
        "train/resume-missing-file",
        10,
        _judged(lambda: [*train, _config(), "--out", str(fresh_dir()), "--resume", str(fresh_dir() / "epoch_0009.pt")]),
        token="epoch_0009.pt",
    )
    cat.add(
        "train/resume-damaged-file",
        10,
        _judged(
            lambda: [*train, _config(), "--out", str(fresh_dir()), "--resume", _file("epoch_0001.pt", b"PK\x03\x04x")]
        ),
        token="epoch_0001.pt",
    )
    cat.add(
        "train/folds-without-placeholder",
        9,
        _judged(lambda: [*train, _config(), "--out", str(fresh_dir()), "--folds", "1"]),
        token="fold",
    )
    cat.add(
        "train/manifest-latin-1",
        9,
        _judged(
            lambda: [
                *train,
                _config(),
                "data.source.train=" + _file("train.csv", "video,label\nclip_\xe9.mp4,0\n".encode("latin-1")),
                "--out",
                str(fresh_dir() / "r"),
            ]
        ),
        token=("train.csv", "UTF-8"),
    )
    cat.add(
        "train/manifest-missing-clip",
        9,
        _judged(
            lambda: [
                *train,
                _config(),
                "data.source.train=" + _file("train.csv", "video,label\nnowhere.mp4,0\n"),
                "train.batch_size=1",
                "train.max_steps=1",
                "--out",
                str(fresh_dir() / "r"),
            ]
        ),
        token="nowhere.mp4",
    )
    adapter = ["--adapter"]
    test_csv = lambda: ["--manifest", str(next((workspace()[0] / "data").rglob("test.csv")))]  # noqa: E731
    cat.add(
        "eval/adapter-missing",
        9,
        _judged(lambda: ["eval", *adapter, str(fresh_dir() / "gone"), *test_csv()]),
        token="gone",
    )
    cat.add(
        "eval/adapter-a-file",
        9,
        _judged(lambda: ["eval", *adapter, _file("adapter", "x"), *test_csv()]),
        token="adapter",
    )
    cat.add(
        "eval/adapter-empty-folder",
        9,
        _judged(lambda: ["eval", *adapter, _folder("empty"), *test_csv()]),
        token="empty",
    )
    cat.add(
        "predict/json-a-folder",
        9,
        _judged(lambda: ["predict", *adapter, str(trained_run()), _clip(), "--json", _folder("preds")]),
        token="preds",
    )
    cat.add(
        "predict/video-text-file",
        9,
        _judged(lambda: ["predict", *adapter, str(trained_run()), _file("clip.mp4", "not a video")]),
        token="clip.mp4",
    )
    cat.add(
        "predict/video-missing",
        9,
        _judged(lambda: ["predict", *adapter, str(trained_run()), str(fresh_dir() / "gone.mp4")]),
        token="gone.mp4",
    )
    cat.add(
        "predict/top-k-0",
        9,
        _judged(lambda: ["predict", *adapter, str(trained_run()), _clip(), "--top-k", "0"]),
        token="top-k",
    )
    cat.add(
        "predict/ok",
        9,
        _judged(lambda: ["predict", *adapter, str(trained_run()), _clip()]),
        expect=("ok",),
        check=lambda r: None if "nan" not in r[1].lower() and r[1].strip() else f"prints {r[1]!r}",
    )
    convert = ["convert-official", "--img-size", "32", "--num-classes", "7", "--out"]
    cat.add(
        "convert/missing-file",
        9,
        _judged(lambda: [*convert, str(fresh_dir() / "o"), str(fresh_dir() / "x.pth")]),
        token="x.pth",
    )
    for name, content in (("text", "hello, not a checkpoint\n"), ("random", bytes(range(256)) * 8)):
        cat.add(
            f"convert/{name}-file",
            11,
            _judged(lambda c=content: [*convert, str(fresh_dir() / "o"), _file("model.pth", c)]),
            token="model.pth",
            forbid=("weights_only=False", "arbitrary code"),
        )


# ---- run folders, resume, divergence, finite checks ----------------------------------------------------------
def _diverging_run() -> tuple[Callable[[], Any], Callable[[], str | None]]:
    """``train.lr=1e3``: stops with a named error, and no NaN adapter or summary is written (item 2)."""
    out = {}

    def argv() -> list[str]:
        out["run"] = fresh_dir() / "run"
        return ["train", "--config", _config(), "train.lr=1e3", "train.epochs=3", "--out", str(out["run"])]

    def after() -> str | None:
        run = out.get("run")
        written = [p for p in ("adapter", "summary.json") if run is not None and (run / p).exists()]
        metrics = run / "metrics.jsonl" if run is not None else None
        if metrics is not None and metrics.is_file() and "null" in metrics.read_text(encoding="utf-8"):
            written.append("null in metrics.jsonl")
        return f"a diverged run wrote {written}" if written else None

    return _judged(argv), after


def _run_cases(cat: Catalogue) -> None:
    train = ["train", "--config"]
    cat.add(
        "train/foreign-run-folder",
        3,
        _judged(lambda: [*train, _config(), "train.max_steps=1", "--out", _copied_run()]),
        token=("--resume", "--overwrite"),
    )
    cat.add(
        "train/resume-changed-batch-size",
        5,
        _judged(
            lambda: [
                *train,
                _config(),
                "train.batch_size=3",
                "train.epochs=2",
                "--out",
                _copied_run(checkpointed_run),
                "--resume",
                "auto",
            ]
        ),
        token="batch_size",
    )
    run, after = _diverging_run()
    cat.add("train/diverging-lr", 2, run, token=("step", "max_nonfinite_steps"), after=after)
    cat.add(
        "train/check-finite-flag",
        13,
        _judged(lambda: [*train, _config(), "--check-finite", PRINT]),
        expect=("ok",),
        check=lambda r: None,
    )
    cat.add("train/concurrent-runs-same-out", 4, _concurrent, expect=("ok",), check=_one_refused, slow=True)


def _concurrent() -> list[tuple[int, str]]:
    """Two ``mmadapt train`` processes into one folder at once."""
    out = str(fresh_dir() / "run")
    argv = [sys.executable, "-m", "mmadapt.cli", "train", "--config", _config(), "train.epochs=2", "--out", out]
    procs = [subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    return [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]


def _one_refused(results: list[tuple[int, str]]) -> str | None:
    codes = sorted(code for code, _ in results)
    if codes != [0, 2]:
        return f"exit codes {codes}: both ran into one folder" if codes == [0, 0] else f"exit codes {codes}"
    refusal = next(err for code, err in results if code == 2)
    if "pid" in refusal.lower() and refusal.count("\n") == 1:
        return None
    return f"the refusal is not one line naming the holder's pid: {refusal!r}"


def cases() -> list[Case]:
    cat = Catalogue(AREA)
    _override_cases(cat)
    _file_cases(cat)
    _run_cases(cat)
    return cat.cases
