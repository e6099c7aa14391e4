"""Every bad value given to the command line ends the command with one stderr line naming the key (or file) and
the value, exit code 2 and no traceback; `--debug` shows the traceback instead (issue 13 item 9)."""

from __future__ import annotations

import pytest
import torch

from mmadapt.cli import main

PRINT = "--print-config"


def _one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("model.num_classes=abc", ["model.num_classes", "abc", "integer"]),
        ("model.num_classes=6.0", ["model.num_classes", "6.0", "integer"]),
        ("model.init_seed=abc", ["model.init_seed", "abc"]),
        ("data.num_frames=4.5", ["data.num_frames", "4.5"]),
        ("data.num_frames=abc", ["data.num_frames", "abc"]),
        ("data.sample_rate=16k", ["data.sample_rate", "16k"]),
        ("data.transform.img_size='32'", ["data.transform.img_size", "32"]),
        ("model.overrides.fusion.latent_dim=abc", ["latent_dim", "abc"]),
        ("train.lr=nan", ["lr", "nan", "finite"]),
        ("train.device=tpu", ["device", "tpu"]),
        ("train.device=meta", ["device", "meta"]),
        ("train.loss=focal", ["loss", "focal", "cross_entropy"]),
    ],
)
def test_a_bad_override_is_one_line_naming_key_and_value(workspace, override, fragments, capsys):
    err = _one_line_error(["train", "--config", str(workspace.config), override, PRINT], capsys)
    assert err.startswith("mmadapt train: error: ")
    assert all(f in err for f in fragments), err


def test_a_config_that_is_not_a_mapping_names_the_section(tmp_path, capsys):
    config = tmp_path / "exp.yaml"
    config.write_text("data: abc\n", encoding="utf-8")
    err = _one_line_error(["train", "--config", str(config), PRINT], capsys)
    assert str(config) in err and "data" in err and "'abc'" in err


def test_a_non_utf8_config_names_the_file_and_the_byte(tmp_path, capsys):
    config = tmp_path / "latin.yaml"
    config.write_bytes("model:\n  preset: caf\xe9\n".encode("latin-1"))
    err = _one_line_error(["train", "--config", str(config), PRINT], capsys)
    assert str(config) in err and "not UTF-8" in err and "0xe9 at offset 20" in err


def test_a_yaml_syntax_error_names_line_and_column(tmp_path, capsys):
    config = tmp_path / "broken.yaml"
    config.write_text("model:\n  preset: [mma-dfer\n", encoding="utf-8")
    err = _one_line_error(["train", "--config", str(config), PRINT], capsys)
    assert str(config) in err and "invalid YAML" in err and "line " in err


def test_a_non_utf8_manifest_names_the_file(workspace, tmp_path, capsys):
    manifest = tmp_path / "train.csv"
    manifest.write_bytes("video,label\nclip_\xe9.mp4,0\n".encode("latin-1"))
    err = _one_line_error(
        ["train", "--config", str(workspace.config), f"data.source.train={manifest}", "--out", str(tmp_path / "r")],
        capsys,
    )
    assert str(manifest) in err and "not UTF-8" in err and not (tmp_path / "r").exists()


def test_out_naming_a_file_is_refused_before_anything_is_built(workspace, tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("keep me", encoding="utf-8")
    err = _one_line_error(["train", "--config", str(workspace.config), "--out", str(taken)], capsys)
    assert f"--out {taken}: is a file" in err and taken.read_text(encoding="utf-8") == "keep me"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_on_a_machine_without_it_is_refused_before_the_run(workspace, tmp_path, capsys):
    out = tmp_path / "r"
    err = _one_line_error(["train", "--config", str(workspace.config), "train.device=cuda", "--out", str(out)], capsys)
    assert "train.device='cuda'" in err and "CUDA is not available" in err and not out.exists()


def test_debug_shows_the_traceback_instead(workspace):
    with pytest.raises(Exception, match="model.num_classes"):
        main(["--debug", "train", "--config", str(workspace.config), "model.num_classes=abc", PRINT])


def test_a_bug_is_one_line_pointing_to_debug(monkeypatch, workspace, capsys):
    import mmadapt.cli.train as train_cmd

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(train_cmd, "load_experiment", broken)
    err = _one_line_error(["train", "--config", str(workspace.config), PRINT], capsys, code=1)
    assert "mmadapt train: internal error: KeyError" in err and "--debug" in err


@pytest.mark.parametrize(
    ("command", "make_target", "fragment"),
    [
        ("train", lambda tmp: (tmp / "f").touch() or tmp / "f", "is a file, not a folder"),
        ("train", lambda tmp: (tmp / "f").touch() or tmp / "f" / "run", "is a file, so the folder cannot be created"),
        ("predict", lambda tmp: (tmp / "d").mkdir() or tmp / "d", "is a folder, not a file"),
        ("predict", lambda tmp: (tmp / "f").touch() or tmp / "f" / "p.json", "is a file, so the folder cannot"),
        ("eval", lambda tmp: (tmp / "f").touch() or tmp / "f", "is a file, not a folder"),
    ],
)
def test_an_unusable_output_path_is_refused_before_any_work(trained, tmp_path, capsys, command, make_target, fragment):
    target = make_target(tmp_path)
    clip = trained.workspace.data.test_manifest
    video = str(next(trained.workspace.data.root.rglob("*.mp4")))
    argv = {
        "train": ["train", "--config", str(trained.workspace.config), "--out", str(target)],
        "predict": ["predict", "--adapter", str(trained.out), video, "--json", str(target)],
        "eval": ["eval", "--adapter", str(trained.out), "--manifest", str(clip), "--out", str(target)],
    }[command]
    err = _one_line_error(argv, capsys)
    assert str(target) in err and fragment in err


@pytest.mark.parametrize(
    ("override", "suggestion"),
    [("train.lrr=1e-3", "'train.lr'"), ("lr=1e-3", "'train.lr'"), ("data.num_framse=4", "'data.num_frames'")],
)
def test_an_unknown_key_suggests_the_full_dotted_key(workspace, capsys, override, suggestion):
    err = _one_line_error(["train", "--config", str(workspace.config), override, PRINT], capsys)
    assert f"(did you mean {suggestion}?)" in err


def test_predict_json_with_a_trailing_slash_is_refused_and_writes_nothing(trained, tmp_path, capsys):
    video = str(next(trained.workspace.data.root.rglob("*.mp4")))
    target = f"{tmp_path / 'newdir'}/"
    err = _one_line_error(["predict", "--adapter", str(trained.out), video, "--json", target], capsys)
    assert "names a folder" in err and not (tmp_path / "newdir").exists()


def test_predict_checks_its_clips_before_building_the_model(trained, tmp_path, capsys, monkeypatch):
    import mmadapt.cli._common as common

    monkeypatch.setattr(common, "load_trained_model", lambda *a, **k: pytest.fail("model built before the check"))
    err = _one_line_error(["predict", "--adapter", str(trained.out), str(tmp_path / "nope.mp4")], capsys)
    assert "nope.mp4: file not found" in err
