"""`export_model` and `mmadapt export`: each format gives the eager logits at any batch, the sidecar names what the
file takes, and the files load without mmadapt."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from mmadapt.cli import main
from mmadapt.cli.export import FORMAT_NAMES
from mmadapt.errors import ConfigError
from mmadapt.export import FORMATS, example_inputs, export_model

from ..core.helpers import SMALL_HEAD, make_pair, make_three, randomise_gates, wrap, wrap_three


def _load(fmt, path):
    if fmt == "torchscript":
        return lambda xs: torch.jit.load(str(path))(*xs.values())
    if fmt == "exported-program":
        return lambda xs: torch.export.load(str(path)).module()(*xs.values())
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(path))
    return lambda xs: torch.from_numpy(session.run(None, {k: v.numpy() for k, v in xs.items()})[0])


def _model(case):
    if case == "three":
        backbones, _ = make_three()
        model = wrap_three(backbones)
    else:
        audio, video, _, _ = make_pair(case)
        model = wrap(audio, video)
    randomise_gates(model)
    return model


CASES = [(p, f) for p in ("timm+timm", "hfvit+clip") for f in FORMAT_NAMES]
CASES += [("three", "torchscript"), ("three", "exported-program")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One export per (model, format), shared by the tests of this module (ONNX takes seconds)."""
    cache = {}

    def get(case, fmt):
        if (case, fmt) not in cache:
            model = _model(case)
            out = tmp_path_factory.mktemp(f"{case}-{fmt}".replace("+", "_"))
            cache[case, fmt] = model, export_model(model, fmt, out, class_names=[f"c{i}" for i in range(5)])
        return cache[case, fmt]

    return get


@pytest.mark.parametrize(("case", "fmt"), CASES)
def test_exported_file_gives_the_eager_logits_at_batch_one_and_three(exported, case, fmt):
    model, path = exported(case, fmt)
    run = _load(fmt, path)
    for n in (1, 3):
        xs = {s: x + n for s, x in example_inputs(model, batch=n).items()}
        with torch.no_grad():
            want = model(**xs)
        got = run(xs)
        assert got.shape == want.shape == (n, 5)
        assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


@pytest.mark.parametrize("fmt", FORMAT_NAMES)
def test_sidecar_names_inputs_with_dynamic_batch_output_classes_and_version(exported, fmt):
    import mmadapt

    model, path = exported("timm+timm", fmt)
    meta = json.loads(path.with_name(path.name + ".json").read_text())
    xs = example_inputs(model)
    assert [i["name"] for i in meta["inputs"]] == model.stream_names
    for entry in meta["inputs"]:
        assert entry["shape"] == ["batch", *xs[entry["name"]].shape[1:]]
    video = next(i for i in meta["inputs"] if i["name"] == "video")
    assert video["shape"][1] == SMALL_HEAD["max_frames"]  # T from the head config
    assert meta["output"] == {"name": "logits", "shape": ["batch", 5]}
    assert meta["class_names"] == [f"c{i}" for i in range(5)]
    assert meta["mmadapt_version"] == mmadapt.__version__
    assert meta["format"] == fmt and meta["file"] == path.name


def test_frames_option_fixes_the_clip_length():
    model = _model("timm+timm")
    assert example_inputs(model, frames=2)["video"].shape[1] == 2
    with pytest.raises(ConfigError, match="frames must be >= 1"):
        example_inputs(model, frames=0)


def test_unknown_format_is_one_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown export format 'tflite'"):
        export_model(_model("timm+timm"), "tflite", tmp_path)


def test_cli_format_list_matches_the_registry():
    assert sorted(FORMAT_NAMES) == sorted(FORMATS)


_SCRIPTS = {
    "onnx": "import onnxruntime as ort, numpy as np; s = ort.InferenceSession(p); "
    "y = s.run(None, {i.name: np.zeros([1, *i.shape[1:]], np.float32) for i in s.get_inputs()})[0]",
    "torchscript": "import torch; m = torch.jit.load(p); "
    "y = m(*[torch.zeros(1, *i['shape'][1:]) for i in __import__('json').load(open(p + '.json'))['inputs']])",
}


@pytest.mark.parametrize("fmt", sorted(_SCRIPTS))
def test_exported_file_runs_without_mmadapt(exported, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    _, path = exported("timm+timm", fmt)
    code = (
        f"import sys; p = {str(path)!r}; {_SCRIPTS[fmt]}; assert y.shape == (1, 5); assert 'mmadapt' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_cli_unknown_format_is_one_line(tmp_path, capsys):
    assert main(["export", "--adapter", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown export format 'tflite'" in err


def test_cli_missing_adapter_dir_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope"
    assert main(["export", "--adapter", str(missing), "--format", "onnx", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope" in err


def test_the_onnx_exporter_prints_nothing_on_stdout(tmp_path, capfd):
    """Found by a new-user review: torch.onnx's progress lines went to stdout, before the path `mmadapt export`
    prints, so `$(mmadapt export ...)` was not a path."""
    audio, video, _, _ = make_pair("timm+timm")
    export_model(wrap(audio, video, head=SMALL_HEAD), "onnx", tmp_path, frames=2)
    assert capfd.readouterr().out == ""
