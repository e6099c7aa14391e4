"""Bad input gives one line and exit code 2 (our errors and argparse alike) with a message naming the problem;
every option is documented in its command's --help."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mmadapt.cli import build_parser, main

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")

COMMANDS = ("train", "eval", "predict", "prep-faces")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_0_and_explains_every_option(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    parser = _subparsers()[command]
    for action in parser._actions:
        names = action.option_strings or [action.metavar or action.dest]
        assert all(name in text for name in names), (command, names)
        assert action.help and " ".join(action.help.split())[:30] in text, (command, names)  # help= everywhere


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_help_shows_a_default_only_where_it_says_something(command):
    """No "(default: None)" / "(default: False)" noise; a real default (demo --epochs 25) is still shown."""
    parser = _subparsers()[command]
    text = " ".join(parser.format_help().split())
    assert "(default: None)" not in text and "(default: False)" not in text
    for action in parser._actions:
        shown = action.default not in (None, False, argparse.SUPPRESS) and "default" not in (action.help or "")
        if shown and action.option_strings:
            assert f"(default: {action.default})" in text, (command, action.option_strings)


def test_commands_are_registered():
    assert set(COMMANDS) | {"info"} <= set(_subparsers())


def _fails(argv, capsys, code=2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err  # one line, no traceback
    return err


def test_unknown_override_key_is_named(workspace, tmp_path, capsys):
    err = _fails(["train", "--config", str(workspace.config), "train.lrr=1", "--out", str(tmp_path / "r")], capsys)
    assert "train.lrr" in err and "did you mean 'train.lr'" in err and not (tmp_path / "r").exists()
    err = _fails(["train", "--config", str(workspace.config), "data.num_frame=4", "--print-config"], capsys)
    assert "data.num_frame" in err and "num_frames" in err


def test_missing_manifest_is_named_before_anything_is_written(workspace, tmp_path, capsys):
    missing = tmp_path / "nowhere.csv"
    err = _fails(
        ["train", "--config", str(workspace.config), f"data.source.train={missing}", "--out", str(tmp_path / "r")],
        capsys,
    )
    assert str(missing) in err and "not found" in err and not (tmp_path / "r").exists()


def test_missing_config_file_is_named(tmp_path, capsys):
    err = _fails(["train", "--config", str(tmp_path / "exp.yaml"), "--out", str(tmp_path)], capsys)
    assert "exp.yaml" in err and "not found" in err


def test_train_without_out_is_an_error(workspace, capsys):
    assert "--out DIR is required" in _fails(["train", "--config", str(workspace.config)], capsys)


def test_folds_without_placeholder_is_an_error(workspace, tmp_path, capsys):
    err = _fails(["train", "--config", str(workspace.config), "--out", str(tmp_path), "--folds", "1"], capsys)
    assert "{fold}" in err


def test_corrupt_mp4_in_predict_is_named(trained, tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4)
    good = trained.workspace.data.root / "clips" / "test" / "anger_0001.mp4"
    err = _fails(["predict", "--adapter", str(trained.out), str(good), str(bad)], capsys)
    assert str(bad) in err and "mmadapt predict: error" in err


def test_a_still_image_in_predict_is_named_and_never_silenced(trained, tmp_path, capsys):
    """A PNG renamed .mp4 is no video without sound: even with missing_audio=zeros it is refused as an image."""
    from PIL import Image

    still = tmp_path / "photo.mp4"
    Image.new("RGB", (16, 16), (90, 90, 90)).save(still, format="PNG")
    err = _fails(["predict", "--adapter", str(trained.out), str(still), "--set", "data.missing_audio=zeros"], capsys)
    assert f"{still}: is a still image (png), not a video" in err
    assert "audio" not in err


def test_missing_video_and_audio_count_mismatch_in_predict(trained, tmp_path, capsys):
    missing = tmp_path / "absent.mp4"
    assert str(missing) in _fails(["predict", "--adapter", str(trained.out), str(missing)], capsys)
    clip = str(trained.workspace.data.root / "clips" / "test" / "anger_0001.mp4")
    err = _fails(["predict", "--adapter", str(trained.out), clip, clip, "--audio", clip], capsys)
    assert "2 videos but 1 --audio" in err


def test_missing_adapter_dir_is_named(workspace, tmp_path, capsys):
    missing = tmp_path / "no_run"
    for argv in (
        ["eval", "--adapter", str(missing), "--manifest", str(workspace.data.test_manifest)],
        ["predict", "--adapter", str(missing), "x.mp4"],
    ):
        err = _fails(argv, capsys)
        assert str(missing) in err and "adapter folder not found" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "adapter_config.json" in _fails(["eval", "--adapter", str(empty), "--manifest", "m.csv"], capsys)


def test_adapter_without_experiment_needs_config(trained, tmp_path, capsys):
    import shutil

    lone = tmp_path / "lone"
    shutil.copytree(trained.out / "adapter", lone)
    (lone / "experiment.yaml").unlink()
    err = _fails(["eval", "--adapter", str(lone), "--manifest", str(trained.workspace.data.test_manifest)], capsys)
    assert "--config" in err and "experiment.yaml" in err  # (with --config it works: see test_workflow)


def test_eval_missing_manifest_is_named(trained, tmp_path, capsys):
    missing = tmp_path / "gone.csv"
    err = _fails(["eval", "--adapter", str(trained.out), "--manifest", str(missing)], capsys)
    assert str(missing) in err and "not found" in err


def test_eval_backbone_mismatch_is_reported(trained, tmp_path, capsys):
    err = _fails(
        [
            "eval",
            "--adapter",
            str(trained.out),
            "--manifest",
            str(trained.workspace.data.test_manifest),
            "model.video.kwargs.embed_dim=64",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert "does not fit" in err and "video" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "--adapter", "x"],  # neither --manifest nor --annotations
        ["eval", "--adapter", "x", "--manifest", "a.csv", "--annotations", "b.txt"],
        ["predict", "--adapter", "x"],  # no video
        ["prep-faces", "v.mp4"],  # no --out
        ["train", "--folds", "one"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "meant"), [(["trian"], "train"), (["-v", "predikt", "--adapter", "x"], "predict")])
def test_a_mistyped_command_exits_2_naming_the_close_match(argv, meant, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mmadapt: error: unknown command {argv[-1] if len(argv) == 1 else argv[1]!r}; ")
    assert f"did you mean {meant!r}?" in err and err.count("\n") == 1


def _video_only(src: Path, dst: Path) -> Path:
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dst


def test_predict_takes_the_missing_audio_flag_its_own_error_names(trained, tmp_path, capsys):
    """Found by a new-user review: the error said "pass --missing-audio zeros" and predict refused that flag."""
    clip = trained.workspace.data.root / "clips" / "test" / "anger_0001.mp4"
    silent = _video_only(clip, tmp_path / "silent.mp4")
    err = _fails(["predict", "--adapter", str(trained.out), str(silent)], capsys)
    assert "has no audio track" in err and "--missing-audio zeros" in err
    assert main(["predict", "--adapter", str(trained.out), str(silent), "--missing-audio", "zeros"]) == 0
    out = tmp_path / "timeline"
    argv = ["predict", "--adapter", str(trained.out), str(silent), "--timeline", "--no-faces", "--out", str(out)]
    assert "--missing-audio zeros" in _fails(argv, capsys)
    assert main([*argv, "--missing-audio", "zeros"]) == 0
    rows = (out / "timeline.csv").read_text().splitlines()
    assert len(rows) > 1 and all(",false," in row for row in rows[1:])  # audio_present is false in every window
