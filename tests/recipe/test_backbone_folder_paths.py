"""A local Hugging Face folder named in an experiment file resolves against the file's folder, like its other
paths; a builder or timm name, or a folder that is not there, is left as written."""

from __future__ import annotations

import yaml

from mmadapt.recipe.experiment import ExperimentConfig


def _write(tmp_path, audio_name: str, video_name: str):
    config = tmp_path / "exp" / "exp.yaml"
    config.parent.mkdir()
    model = {"audio": {"name": audio_name}, "video": {"name": video_name}}
    config.write_text(yaml.safe_dump({"model": model}), encoding="utf-8")
    return config


def test_relative_backbone_folder_resolves_against_the_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the working directory is not the config's folder
    config = _write(tmp_path, "pretrained/ast", "vit_base_patch16_224")
    (config.parent / "pretrained" / "ast").mkdir(parents=True)
    cfg = ExperimentConfig.load(config)
    assert cfg.model.audio.name == str(config.parent.resolve() / "pretrained" / "ast")
    assert cfg.model.video.name == "vit_base_patch16_224"


def test_names_without_a_folder_beside_the_config_stay_as_written(tmp_path):
    config = _write(tmp_path, "maeface_vit_base", "elsewhere/dinov2")
    cfg = ExperimentConfig.load(config)
    assert (cfg.model.audio.name, cfg.model.video.name) == ("maeface_vit_base", "elsewhere/dinov2")
