"""train -> eval -> predict on real mp4 files, in process, with tiny backbones."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import pytest
import torch
import yaml

from mmadapt.cli import main
from mmadapt.data import VideoManifestDataset
from mmadapt.recipe.experiment import ExperimentConfig

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_train_writes_adapter_metrics_and_resolved_experiment(trained):
    out = trained.out
    for name in (
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "adapter/experiment.yaml",
        "experiment.yaml",
        "config.json",
        "summary.json",
        "metrics.jsonl",
        "confusion_final.json",
        "confusion_final.png",
    ):
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["event"] == "train_step"] == [1, 2]  # max_steps=2, log_every=1
    epoch = [r for r in records if r["event"] == "epoch"]
    assert len(epoch) == 1 and 0.0 <= epoch[0]["val_uar"] <= 1.0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 2 and summary["final"]["num_samples"] == 6
    assert f"val UAR {summary['final']['uar']:.4f}" in trained.stdout
    saved = ExperimentConfig.load(out / "experiment.yaml")
    assert saved.train.max_steps == 2 and saved.train.out_dir == str(out)
    assert saved.data.source.train == str(trained.workspace.data.train_manifest.resolve())  # absolute
    assert (out / "adapter" / "experiment.yaml").read_text() == (out / "experiment.yaml").read_text()
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["config"]["num_classes"] == 6 and adapter["config"]["input_sizes"]["video"] == [32, 32]


@pytest.mark.parametrize("layout", ["run folder", "bare adapter + --config"])
def test_eval_rebuilds_the_model_and_reproduces_the_final_validation(trained, layout, tmp_path, capsys):
    manifest = str(trained.workspace.data.test_manifest)
    if layout == "run folder":  # experiment.yaml found beside the adapter; output beside the adapter folder
        argv = ["eval", "--adapter", str(trained.out), "--manifest", manifest]
        out_dir = trained.out / "eval-test"
    else:
        lone = tmp_path / "lone"
        shutil.copytree(trained.out / "adapter", lone)
        (lone / "experiment.yaml").unlink()
        out_dir = tmp_path / "scores"
        argv = [
            "eval",
            "--adapter",
            str(lone),
            "--manifest",
            manifest,
            "--out",
            str(out_dir),
            "--config",
            str(trained.out / "experiment.yaml"),
        ]
    assert main(argv) == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    final = json.loads((trained.out / "summary.json").read_text())["final"]
    assert 0.0 <= metrics["uar"] <= 1.0 and 0.0 <= metrics["war"] <= 1.0 and metrics["num_samples"] == 6
    # same backbones (seeded rebuild), same adapter, same official test rule: the same numbers as training
    assert (metrics["uar"], metrics["war"]) == (final["uar"], final["war"])
    assert metrics["loss"] == pytest.approx(final["loss"], rel=1e-6)
    confusion = json.loads((out_dir / "confusion.json").read_text())
    assert confusion["class_names"] == list(trained.workspace.data.class_names)
    assert sum(map(sum, confusion["counts"])) == 6 and (out_dir / "confusion.png").stat().st_size > 0
    assert f"UAR {metrics['uar']:.4f}" in capsys.readouterr().out


def test_predict_gives_top_k_probabilities_equal_to_the_dataset_path(trained, tmp_path, capsys):
    data = trained.workspace.data
    clips = sorted((data.root / "clips" / "test").glob("*.mp4"))[:2]
    out_json = tmp_path / "pred.json"
    code = main(["predict", "--adapter", str(trained.out), *map(str, clips), "--top-k", "3", "--json", str(out_json)])
    assert code == 0
    preds = json.loads(out_json.read_text())["predictions"]
    assert [p["video"] for p in preds] == list(map(str, clips))
    printed = capsys.readouterr().out
    for pred in preds:
        probs = pred["probabilities"]
        assert list(probs) == list(data.class_names) and sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
        top = pred["top_k"]
        assert len(top) == 3 and [t["probability"] for t in top] == sorted(probs.values(), reverse=True)[:3]
        assert all(probs[t["name"]] == t["probability"] and data.class_names[t["label"]] == t["name"] for t in top)
        assert f"1. {top[0]['name']}" in printed

    # reference: the same clip through the dataset (official test sampling) and the reloaded model
    from mmadapt.cli._common import load_trained_model

    cfg = ExperimentConfig.load(trained.out / "experiment.yaml")
    manifest = tmp_path / "one.csv"
    manifest.write_text(f"video,label\n{clips[0]},0\n")
    item = VideoManifestDataset(manifest, cfg.data.for_split("test"))[0]
    model = load_trained_model(trained.out / "adapter", cfg, torch.device("cpu"))
    with torch.no_grad():
        reference = model(video=item["video"][None], audio=item["audio"][None]).softmax(-1)[0]
    got = torch.tensor(list(preds[0]["probabilities"].values()))
    torch.testing.assert_close(got, reference, rtol=1e-5, atol=1e-6)

    # an adapter trained on bf16 backbones is evaluated on bf16 backbones, its own weights still fp32
    half_cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, backbone_dtype="bfloat16"))
    half = load_trained_model(trained.out / "adapter", half_cfg, torch.device("cpu"))
    assert half.backbones["video"].blocks[0].mlp.fc1.weight.dtype == torch.bfloat16
    assert {p.dtype for p in half.adapter_parameters()} == {torch.float32}
    with torch.no_grad():
        probs = half(video=item["video"][None], audio=item["audio"][None]).softmax(-1)[0]
        torch.testing.assert_close(probs, reference, rtol=0.05, atol=0.02)


def test_predict_takes_a_separate_audio_file(trained, tmp_path):
    data = trained.workspace.data
    clip = data.root / "clips" / "test" / "surprise_0001.mp4"
    other = data.root / "clips" / "test" / "anger_0001.mp4"
    runs = {}
    for name, extra in (("own", []), ("other", ["--audio", str(other)])):
        out_json = tmp_path / f"{name}.json"
        assert main(["predict", "--adapter", str(trained.out), str(clip), *extra, "--json", str(out_json)]) == 0
        runs[name] = json.loads(out_json.read_text())["predictions"][0]
    assert runs["other"]["audio"] == str(other) and runs["own"]["audio"] == "own track"
    assert runs["own"]["probabilities"] != runs["other"]["probabilities"]  # the audio reaches the model


def test_predict_on_a_train_run_folder_works_from_any_working_directory(trained, tmp_path, monkeypatch, capsys):
    clip = sorted((trained.workspace.data.root / "clips" / "test").glob("*.mp4"))[0]

    def probabilities(adapter, json_name: str) -> dict:
        assert main(["predict", "--adapter", str(adapter), str(clip), "--json", str(tmp_path / json_name)]) == 0
        return json.loads((tmp_path / json_name).read_text())["predictions"][0]["probabilities"]

    want = probabilities(trained.out, "absolute.json")
    monkeypatch.chdir(trained.out.parent)
    assert probabilities(trained.out.name, "beside.json") == want
    monkeypatch.chdir(tmp_path)
    assert probabilities(os.path.relpath(trained.out / "adapter", tmp_path), "elsewhere.json") == want


def test_train_records_backbone_checkpoints_as_absolute_paths(workspace, tmp_path, monkeypatch, capsys):
    """A run folder names backbone files outside it absolutely: eval/predict find them from any directory."""
    in_file = tmp_path / "exp.yaml"
    exp = yaml.safe_load(workspace.config.read_text())
    exp["model"]["audio"]["checkpoint"] = "weights/audio.safetensors"  # relative to the config file's folder
    in_file.write_text(yaml.safe_dump(exp))
    monkeypatch.chdir(workspace.root)
    argv = ["train", "--config", str(in_file), "model.video.checkpoint=weights/video.safetensors", "--print-config"]
    assert main(argv) == 0
    shown = yaml.safe_load(capsys.readouterr().out)["model"]
    assert shown["audio"]["checkpoint"] == str(tmp_path / "weights" / "audio.safetensors")
    assert shown["video"]["checkpoint"] == str(workspace.root / "weights" / "video.safetensors")  # against the cwd


def test_print_config_shows_overrides_and_exits(workspace, capsys):
    code = main(
        [
            "train",
            "--config",
            str(workspace.config),
            "train.lr=3e-4",
            "data.img_size=48",
            "model.overrides.fusion.latent_dim=8",
            "--print-config",
        ]
    )
    assert code == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["train"]["lr"] == 3e-4 and shown["data"]["transform"]["img_size"] == 48
    assert shown["model"]["overrides"]["fusion"] == {"latent_dim": 8}
    assert shown["model"]["overrides"]["head"]["dim"] == 32  # the file's other values survive
    assert shown["data"]["source"]["train"] == str(workspace.data.train_manifest.resolve())


def test_missing_audio_flag_sets_the_policy_and_positional_overrides_win(workspace, capsys):
    assert main(["train", "--config", str(workspace.config), "--missing-audio", "zeros", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["data"]["missing_audio"] == "zeros"
    assert (
        main(
            [
                "train",
                "--config",
                str(workspace.config),
                "--missing-audio",
                "zeros",
                "data.missing_audio=error",
                "--print-config",
            ]
        )
        == 0
    )
    assert yaml.safe_load(capsys.readouterr().out)["data"]["missing_audio"] == "error"


def test_kfold_runs_every_fold_with_the_fold_placeholder(workspace, tmp_path, capsys):
    for fold in (1, 2):  # fold files beside the data, so the manifests' relative clip paths still resolve
        for split, src in (("train", workspace.data.train_manifest), ("test", workspace.data.test_manifest)):
            header, *rows = src.read_text().splitlines()
            chosen = rows[fold - 1 :: 2]  # a different half of the clips per fold
            (workspace.data.root / f"fold{fold}_{split}.csv").write_text("\n".join([header, *chosen]) + "\n")
    out = tmp_path / "kfold"
    code = main(
        [
            "train",
            "--config",
            str(workspace.config),
            "train.max_steps=1",
            f"data.source.train={workspace.data.root}/fold{{fold}}_train.csv",
            "data.source.val=none",
            f"data.source.test={workspace.data.root}/fold{{fold}}_test.csv",
            "--out",
            str(out),
            "--folds",
            "1",
            "2",
        ]
    )
    assert code == 0
    summary = json.loads((out / "kfold_summary.json").read_text())
    assert [f["fold"] for f in summary["folds"]] == [1, 2] and [f["num_samples"] for f in summary["folds"]] == [3, 3]
    assert summary["uar_mean"] == pytest.approx(sum(f["uar"] for f in summary["folds"]) / 2)
    for fold in (1, 2):
        saved = ExperimentConfig.load(out / f"fold_{fold}" / "adapter" / "experiment.yaml")
        assert saved.data.source.train.endswith(f"fold{fold}_train.csv")
        assert (out / f"fold_{fold}" / "adapter" / "adapter_model.safetensors").is_file()
    assert "2 folds: UAR" in capsys.readouterr().out
