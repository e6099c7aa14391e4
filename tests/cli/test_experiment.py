"""`ExperimentConfig`: round trips, dotted overrides, path resolution, unknown keys, builders."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mmadapt.errors import ConfigError
from mmadapt.recipe.experiment import ExperimentConfig, build_datasets, build_model, class_names, num_classes

pytestmark = pytest.mark.filterwarnings("ignore:.*RANDOM weights:UserWarning")


def test_defaults_are_the_official_recipe_and_round_trip(tmp_path):
    cfg = ExperimentConfig()
    assert (cfg.model.preset, cfg.model.audio.name, cfg.model.video.name) == (
        "mma-dfer",
        "audiomae_vit_base",
        "maeface_vit_base",
    )
    assert (cfg.data.num_frames, cfg.data.img_size, cfg.data.audio_frames, cfg.data.mel_bins) == (16, 224, 512, 128)
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.batch_size, cfg.train.eval_batch_size) == (25, 1e-4, 8, 1)
    d = cfg.to_dict()
    assert "mode" not in d["data"] and d["mmadapt_version"]
    assert ExperimentConfig.from_dict(json.loads(json.dumps(d))).to_dict() == d
    for name in ("e.yaml", "e.json"):  # relative paths of a file resolve against its folder
        cfg.save(tmp_path / name)
        loaded = ExperimentConfig.load(tmp_path / name)
        assert loaded.train.out_dir == str(tmp_path / "runs" / "mmadapt")
        assert loaded.to_dict() == cfg.with_absolute_paths(tmp_path).to_dict()


def test_dotted_overrides_reach_every_section():
    cfg = ExperimentConfig().with_overrides(
        [
            "train.lr=3e-4",
            "data.img_size=112",
            "data.audio.target_frames=none",
            "model.preset=mma-dfer-no-fusion",
            "model.overrides.fusion.latent_dim=64",
            "model.video.kwargs.drop_path_rate=0.0",
            "data.source.train=folds/{fold}/train.csv",
            "data.transform.brightness=[0.8, 1.2]",
        ]
    )
    assert cfg.train.lr == 3e-4 and isinstance(cfg.train.lr, float)
    assert cfg.data.transform.img_size == 112 and cfg.data.audio.target_frames is None
    assert cfg.model.preset == "mma-dfer-no-fusion" and cfg.model.overrides == {"fusion": {"latent_dim": 64}}
    assert cfg.model.video.kwargs == {"img_size": 224, "drop_path_rate": 0.0}
    assert cfg.data.transform.brightness == (0.8, 1.2)
    assert cfg.for_fold(3).data.source.train == "folds/3/train.csv" and cfg.data.source.uses_folds()


@settings(max_examples=25, deadline=None)
@given(lr=st.floats(1e-8, 1.0, allow_nan=False), frames=st.integers(1, 64))
def test_overrides_parse_values_exactly(lr, frames):
    cfg = ExperimentConfig().with_overrides([f"train.lr={lr!r}", f"data.num_frames={frames}"])
    assert cfg.train.lr == lr and cfg.data.num_frames == frames


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("data.imgsize=3", "did you mean 'data.img_size'"),
        ("train.lrr=1", "did you mean 'train.lr'"),
        ("model.overrides.fusion.latentdim=3", "latentdim"),
        ("model.overrides.num_classes=3", "model.num_classes"),
        ("data.source.kind=folders", "manifest"),
        ("model.preset=nope", "unknown preset 'nope'"),
        ("model.preset=mma-dfr", "unknown preset 'mma-dfr'; did you mean 'mma-dfer', "),
        ("train.lr=fast", "expected a number"),
        ("data.num_frames=0", "num_frames must be >= 1"),
        ("data.source.train=a/{split}.csv", "{fold}"),
        ("nokey", "key=value"),
    ],
)
def test_bad_overrides_name_the_problem(override, named):
    with pytest.raises(ConfigError) as err:
        ExperimentConfig().with_overrides([override])
    assert named in str(err.value) and override in str(err.value)


@pytest.mark.parametrize(
    ("d", "named"),
    [
        ({"modle": {}}, "modle"),
        ({"model": {"audio": {"nmae": "x"}}}, "model.audio"),
        ({"data": {"source": {"trian": "x"}}}, "trian"),
        ({"data": {"transform": {"size": 3}}}, "size"),
        ({"data": {"mode": "train"}}, "data.mode"),
        ({"train": {"epoch": 3}}, "did you mean 'epochs'"),
    ],
)
def test_unknown_keys_are_rejected(d, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        ExperimentConfig.from_dict(d)


def test_file_paths_resolve_against_the_file_and_command_line_paths_against_cwd(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "exp.yaml"
    path.write_text(yaml.safe_dump({"data": {"source": {"train": "lists/train.csv", "test": "/abs/test.csv"}}}))
    monkeypatch.chdir(tmp_path)
    cfg = ExperimentConfig.load(path, ["data.source.val=mine/val.csv"])
    assert cfg.data.source.train == str(tmp_path / "cfg" / "lists" / "train.csv")
    assert cfg.data.source.test == "/abs/test.csv" and cfg.data.source.val == "mine/val.csv"
    assert cfg.with_absolute_paths().data.source.val == str(tmp_path / "mine" / "val.csv")


def test_relative_paths_make_a_saved_experiment_movable(tmp_path):
    run = tmp_path / "run"
    cfg = ExperimentConfig().with_overrides(
        [
            f"model.video.checkpoint={run / 'backbones' / 'video.safetensors'}",
            f"data.source.train={tmp_path / 'a.csv'}",
            f"train.out_dir={run}",
        ]
    )
    saved = cfg.with_relative_paths(run)
    assert saved.model.video.checkpoint == "backbones/video.safetensors" and saved.train.out_dir == "."
    assert saved.data.source.train == "../a.csv" and saved.model.audio.checkpoint is None  # unset paths stay unset
    saved.save(run / "experiment.yaml")
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    run.rename(moved)
    loaded = ExperimentConfig.load(moved / "experiment.yaml")  # paths follow the file
    assert loaded.model.video.checkpoint == str(moved / "backbones" / "video.safetensors")
    assert loaded.train.out_dir == str(moved) and Path(loaded.data.source.train).resolve() == moved.parent / "a.csv"


def test_class_names_come_from_a_list_a_file_or_a_dataset_spec(tmp_path):
    (tmp_path / "names.txt").write_text("calm\nangry\n")
    assert class_names(ExperimentConfig().with_overrides([f"data.source.class_names={tmp_path / 'names.txt'}"])) == (
        "calm",
        "angry",
    )
    dfew = ExperimentConfig().with_overrides(["data.source.dataset=dfew"])
    assert class_names(dfew)[:3] == ("happiness", "sadness", "neutral") and num_classes(dfew) == 7
    with pytest.raises(ConfigError, match="num_classes=5 but the data source names 7"):
        num_classes(dfew.with_overrides(["model.num_classes=5"]))
    with pytest.raises(ConfigError, match="set model.num_classes"):
        num_classes(ExperimentConfig())


def test_builders_make_a_tiny_model_and_the_datasets(workspace):
    cfg = ExperimentConfig.load(workspace.config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_model(cfg)
    assert sum("RANDOM weights" in str(w.message) for w in caught) == 2  # loud, once per backbone
    assert model.config.num_classes == 6 and model.config.input_sizes == {"video": (32, 32), "audio": (32, 16)}
    assert model.config.fusion.latent_dim == 16 and model.config.head.dim == 32
    sets = build_datasets(cfg)
    assert sorted(sets) == ["train", "val"] and len(sets["train"]) == len(sets["val"]) == 6
    assert sets["train"].config.mode == "train" and sets["val"].config.mode == "test"
    item = sets["val"][0]
    video, audio, label = item["video"], item["audio"], item["label"]
    assert video.shape == (4, 3, 32, 32) and audio.shape == (1, 32, 16) and label == 0
    # backbones without a checkpoint are drawn from model.init_seed: a rebuild gives the same weights
    again = build_model(cfg)
    pairs = zip(
        model.backbones["video"].state_dict().values(), again.backbones["video"].state_dict().values(), strict=True
    )
    assert all(a.equal(b) for a, b in pairs)
    other = build_model(dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, init_seed=1)))
    assert not other.backbones["video"].pos_embed.equal(model.backbones["video"].pos_embed)
