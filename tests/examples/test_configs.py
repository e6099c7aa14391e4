"""Every examples/configs/*.yaml builds the model `mmadapt train` would, from tiny saved backbones, and runs it.

Each file is read by the same code as ``mmadapt train --config FILE KEY=VALUE...`` (``load_experiment`` then
``build_model``); the overrides only point its paths at tiny models saved in a temporary folder and shrink the
sizes, as a user's command line could. A backbone left with random weights fails the test: the point of every
file is loading the user's weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from mmadapt.cli._common import load_experiment
from mmadapt.recipe.experiment import build_model
from tests.anatomy._families import FAMILIES
from tests.backbones._fixtures import pretraining_state_dict, save_pretraining

CONFIGS = Path(__file__).parents[2] / "examples" / "configs"

WIDTH, DEPTH, HEADS = 32, 2, 2
"""Every tiny backbone here (the anatomy test families use the same sizes)."""
TINY_TIMM = {"patch_size": 8, "embed_dim": WIDTH, "depth": DEPTH, "num_heads": HEADS, "num_classes": 0}
SMALL_ADAPTERS = [  # a small head and bottleneck: the adapters' own sizes are not what these files are about
    "model.overrides.head.dim=32",
    "model.overrides.head.heads=2",
    "model.overrides.head.dim_head=16",
    "model.overrides.head.mlp_dim=64",
    "model.overrides.fusion.latent_dim=16",
    "data.num_frames=2",
]


@dataclass(frozen=True)
class Case:
    """How to save tiny stand-ins of a file's backbones, and what mmadapt must find in them."""

    save: Callable[[Path], list[str]]  # tmp folder -> overrides pointing the file at what was saved there
    families: dict[str, str]  # stream -> anatomy family
    audio_size: tuple[int, int]  # (frames, mel bins) of the audio input
    img_size: int


def _kwargs(stream: str, values: dict) -> list[str]:
    return [f"model.{stream}.kwargs.{k}={v}" for k, v in values.items()]


def _hf_folders(tmp: Path) -> list[str]:
    for family in ("hf-ast", "hf-dinov2"):
        FAMILIES[family].build().save_pretrained(tmp / family)
    ast = FAMILIES["hf-ast"].build().config  # AST runs only at max_length x num_mel_bins
    return [
        f"model.audio.name={tmp / 'hf-ast'}",
        f"model.video.name={tmp / 'hf-dinov2'}",
        f"data.audio.target_frames={ast.max_length}",
        f"data.audio.num_mel_bins={ast.num_mel_bins}",
        "data.transform.img_size=16",  # DINOv2 interpolates: saved at 32 px, run at 16
    ]


def _timm_checkpoints(tmp: Path) -> list[str]:
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    audio = timm.create_model("vit_base_patch16_224", in_chans=1, img_size=(64, 16), **TINY_TIMM)  # 8 x 2 grid
    save_file(audio.state_dict(), tmp / "audio_vit.safetensors")
    video = timm.create_model("vit_base_patch16_224", img_size=48, **TINY_TIMM)  # 6 x 6 grid, resampled to 4 x 4
    torch.save(video.state_dict(), tmp / "video_vit.pth")
    return [
        f"model.audio.checkpoint={tmp / 'audio_vit.safetensors'}",
        f"model.video.checkpoint={tmp / 'video_vit.pth'}",
        *_kwargs("audio", {**TINY_TIMM, "img_size": [32, 16], "checkpoint_grid": [8, 2]}),
        *_kwargs("video", {**TINY_TIMM, "img_size": 32}),
        "data.audio.target_frames=32",
        "data.audio.num_mel_bins=16",
        "data.transform.img_size=32",
    ]


def _mma_dfer_official(tmp: Path) -> list[str]:
    tiny = {"embed_dim": WIDTH, "depth": DEPTH, "num_heads": HEADS}  # the builders keep ViT-B's 16 px patches
    audio = save_pretraining(tmp / "audiomae_pretrained.pth", pretraining_state_dict((64, 16), in_chans=1, seed=1))
    video = save_pretraining(tmp / "mae_face.pth", pretraining_state_dict((48, 48), in_chans=3, seed=2))
    return [
        f"model.audio.checkpoint={audio}",
        f"model.video.checkpoint={video}",
        *_kwargs("audio", {**tiny, "frames": 32, "mel_bins": 16}),
        *_kwargs("video", {**tiny, "img_size": 32}),
        "data.audio.target_frames=32",
        "data.audio.num_mel_bins=16",
        "data.transform.img_size=32",
    ]


_AST = FAMILIES["hf-ast"].input_shape[-2:]
CASES: dict[str, Case] = {
    "hf_folders.yaml": Case(_hf_folders, {"audio": "hf-ast", "video": "hf-dinov2"}, _AST, 16),
    "timm_checkpoints.yaml": Case(_timm_checkpoints, {"audio": "timm-vit", "video": "timm-vit"}, (32, 16), 32),
    "mma_dfer_official.yaml": Case(_mma_dfer_official, {"audio": "timm-vit", "video": "timm-vit"}, (32, 16), 32),
}


def test_every_example_config_is_loaded_here():
    assert {p.name for p in CONFIGS.glob("*.yaml")} == set(CASES)


def test_the_files_load_as_written():
    for name in CASES:  # their own paths do not exist here; parsing and validation must still pass
        load_experiment(CONFIGS / name, [])


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_builds_the_saved_backbones_and_runs(name, tmp_path):
    case = CASES[name]
    cfg = load_experiment(CONFIGS / name, [*case.save(tmp_path), *SMALL_ADAPTERS])
    torch.manual_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build_model(cfg).eval()
    assert not [str(w.message) for w in caught if "RANDOM weights" in str(w.message)]

    identity = model.backbone_identity()
    assert {s: identity[s]["family"] for s in identity} == case.families
    assert {(identity[s]["width"], identity[s]["depth"]) for s in identity} == {(WIDTH, DEPTH)}
    frames, mels = case.audio_size
    inputs = {
        "audio": torch.randn(2, 1, frames, mels),
        "video": torch.randn(2, cfg.data.num_frames, 3, case.img_size, case.img_size),
    }
    with torch.no_grad():
        logits = model(**inputs)
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
