"""The offline demo: MMA-DFER on a synthetic audio-visual expression dataset, end to end on a CPU.

What it does, in the order a researcher would:
1. writes a small synthetic dataset of real mp4 files (:mod:`mmadapt.demo.scenes`);
2. gives two small ViTs a short *unimodal* pretraining, the situation mmadapt is made for: the video ViT learns to
   read facial actions from single frames (curvature/opening of the mouth, eyes, brows — like an action-unit
   model), the audio ViT learns to recognise the speaker's voice (pitch level and timbre) — neither sees a clip
   label, temporal order or intonation;
3. freezes both, wraps them with a preset and trains only the adapters with the recipe (:func:`train`);
4. reports UAR/WAR per epoch, saves the adapter and the confusion matrix, and predicts a held-out mp4;
5. leaves each run folder usable on its own by ``mmadapt eval`` / ``predict`` (:mod:`mmadapt.demo.run_folder`).
``ablations=True`` repeats step 3 for the paper's Table-4 variants on the same frozen backbones.

Shapes: T frames, S frame side, F spectrogram frames, M mel bins, D width.

The recipe is imported inside the functions that run it: ``mmadapt.recipe`` re-exports this module's names, so
a module-level import of it from here would be circular.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from .._io import write_json
from ..errors import ConfigError
from .config import DemoConfig
from .scenes import (
    SYNTHETIC_CLASSES,
    SyntheticConfig,
    expression_track,
    make_synthetic_dataset,
    speaker_traits,
    synthesize_clip,
)

if TYPE_CHECKING:
    from ..data import DataConfig
    from ..recipe.config import TrainConfig

__all__ = [
    "DEMO_ABLATIONS",
    "DEMO_TIMM_VIT",
    "DemoConfig",
    "DemoResult",
    "SeedSweep",
    "backbone_kwargs",
    "demo_adapter_overrides",
    "demo_data_config",
    "demo_model_config",
    "demo_train_config",
    "make_backbones",
    "predict_clip",
    "pretrain_backbones",
    "run_demo",
    "run_seed_sweep",
]

logger = logging.getLogger(__name__)

DEMO_ABLATIONS = ("mma-dfer", "mma-dfer-no-fusion", "mma-dfer-no-temporal", "mma-dfer-no-prompts")
DEMO_TIMM_VIT = "vit_tiny_patch16_224"
"""timm entry point of the demo's backbones: a plain ``VisionTransformer`` whose every size (patch, width, depth,
heads) :func:`backbone_kwargs` overrides, so a run folder's experiment names a model any timm install rebuilds."""


# ---- backbones and their unimodal pretraining ------------------------------------------------------------------
def backbone_kwargs(cfg: DemoConfig) -> dict[str, dict[str, Any]]:
    """The timm keywords of the two ViTs by stream, as :func:`make_backbones` builds them and a run folder's
    ``experiment.yaml`` records them: audio (1 channel, F x M spectrogram), video (3 channels, S x S frames)."""
    # Both pool the mean of their patch tokens, as AudioMAE does when fine-tuned: a small face model learns facial
    # actions from it far faster than from a CLS token, and a time-averaged spectrogram says nothing about
    # intonation -- which the adapters must then find inside the encoder.
    common = dict(
        embed_dim=cfg.width, depth=cfg.depth, num_heads=cfg.heads, num_classes=0, class_token=False, global_pool="avg"
    )
    return {  # lists, not tuples: the keywords round-trip through YAML
        "audio": dict(img_size=[cfg.audio_frames, cfg.mel_bins], patch_size=cfg.audio_patch, in_chans=1, **common),
        "video": dict(img_size=cfg.img_size, patch_size=cfg.video_patch, in_chans=3, **common),
    }


def make_backbones(cfg: DemoConfig) -> tuple[nn.Module, nn.Module]:
    """Two small timm ViTs (audio, video), random weights from the global RNG, built the way ``mmadapt
    predict`` rebuilds them from a run folder (:func:`~mmadapt.backbones.load_backbone`)."""
    from ..backbones import load_backbone

    kwargs = backbone_kwargs(cfg)
    audio = load_backbone(DEMO_TIMM_VIT, **kwargs["audio"]).model
    video = load_backbone(DEMO_TIMM_VIT, **kwargs["video"]).model
    return audio, video


def _pretrain(vit: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, cfg: DemoConfig, what: str) -> float:
    """Regress standardised ``targets`` from the ViT's pooled features with a throw-away linear head; returns the
    final MSE on the last quarter of the examples, held out (1.0 = predicting the mean)."""
    mean, std = targets.mean(0), targets.std(0).clamp_min(1e-6)
    y = (targets - mean) / std
    n_val = len(inputs) // 4
    train_x, train_y, val_x, val_y = inputs[n_val:], y[n_val:], inputs[:n_val], y[:n_val]
    probe = nn.Linear(cfg.width, y.shape[1])
    params = list(vit.parameters()) + list(probe.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.pretrain_lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.pretrain_lr, total_steps=cfg.pretrain_steps)
    g = torch.Generator().manual_seed(cfg.seed)
    vit.train()
    for _ in range(cfg.pretrain_steps):
        idx = torch.randint(len(train_x), (32,), generator=g)
        pooled = vit.forward_head(vit.forward_features(train_x[idx]), pre_logits=True)
        loss = F.mse_loss(probe(pooled), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    vit.eval()
    with torch.no_grad():
        val = F.mse_loss(probe(vit.forward_head(vit.forward_features(val_x), pre_logits=True)), val_y).item()
    logger.info("pretrained the %s backbone: held-out MSE %.3f (1.0 = predicting the mean)", what, val)
    return val


class PretrainExample(NamedTuple):
    """One pretraining clip of a scene and the unimodal targets drawn with it."""

    frames: np.ndarray
    """uint8 (T, S, S, 3)."""
    actions: np.ndarray
    """float32 (T, A): per-frame targets of the video backbone."""
    wave: np.ndarray
    """float32 (N,)."""
    voice: np.ndarray
    """float32 (V,): targets of the audio backbone."""


PretrainDraw = Callable[[int, int, SyntheticConfig, np.random.Generator], PretrainExample]
"""A scene's pretraining hook ``(k, seed, config, rng) -> PretrainExample``: what its unimodal backbones learn,
registered beside the scene's writer (:func:`mmadapt.study.synthetic.register_scene`)."""


def expression_example(k: int, seed: int, syn: SyntheticConfig, rng: np.random.Generator) -> PretrainExample:
    """The expressions scene's pretraining clip ``k``: a random class; its facial actions and speaker traits."""
    label = int(rng.integers(len(SYNTHETIC_CLASSES)))
    clip, wave = synthesize_clip(label, k, seed, syn)
    return PretrainExample(clip, expression_track(label, k, seed, syn), wave, speaker_traits(label, k, seed, syn))


def pretrain_backbones(
    audio: nn.Module, video: nn.Module, cfg: DemoConfig, draw: PretrainDraw = expression_example
) -> dict[str, float]:
    """Unimodal pretraining on clips drawn (by the scene's ``draw``) from a seed the demo's dataset never uses.

    expressions scene: video: single frames -> the generator's per-frame facial actions (no clip label, no order);
    audio: spectrograms -> the speaker's voice (pitch level, harmonic tilt, harshness); no intonation.
    """
    from ..data import FbankConfig, audio_features

    syn = SyntheticConfig(size=cfg.img_size, nuisance=cfg.nuisance)
    fb = FbankConfig(target_frames=cfg.audio_frames, num_mel_bins=cfg.mel_bins)
    seed = cfg.seed + 10_007  # disjoint from the demo's train/test clips
    frames, actions, specs, voices = [], [], [], []
    rng = np.random.default_rng(seed)
    for k in range(cfg.pretrain_clips):
        example = draw(k, seed, syn, rng)
        keep = rng.choice(len(example.frames), size=4, replace=False)  # a few frames per clip: single images
        frames.append(torch.from_numpy(example.frames[keep]).permute(0, 3, 1, 2).float() / 255.0)
        actions.append(torch.from_numpy(example.actions[keep]))
        specs.append(audio_features(torch.from_numpy(example.wave), syn.sample_rate, fb))
        voices.append(torch.from_numpy(example.voice))
    return {
        "video_mse": _pretrain(video, torch.cat(frames), torch.cat(actions), cfg, "video"),
        "audio_mse": _pretrain(audio, torch.stack(specs), torch.stack(voices), cfg, "audio"),
    }


# ---- data ----------------------------------------------------------------------------------------------------
class _Memo(Dataset):
    """Decode each clip once: the demo's epochs then cost model time only."""

    def __init__(self, base: Dataset) -> None:
        self.base = base
        self.items: dict[int, Any] = {}
        self.stats = getattr(base, "stats", None)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Any:
        if i not in self.items:
            self.items[i] = self.base[i]
        return self.items[i]


@dataclass
class DemoResult:
    out_dir: Path
    metrics: dict[str, dict[str, float]]  # preset -> final uar/war
    pretraining: dict[str, float]
    prediction: dict[str, Any]
    seconds: float
    run_dirs: dict[str, Path] = field(default_factory=dict)
    """preset -> its run folder (adapter, backbones, experiment.yaml: enough for ``mmadapt eval`` / ``predict``)."""
    test_manifest: Path | None = None


def demo_data_config(cfg: DemoConfig) -> DataConfig:
    """How the demo reads its clips: every frame side, frame count and spectrogram size from ``cfg``, and the
    test-mode sampling for training too (the synthetic clips need no augmentation). The training transform's
    augmentations are off as well, for a study's experiment, whose training split is read in train mode: random
    crops down to 8 % of the frame lose a face of the speakers scene, and brightness changes its skin tones."""
    from ..data import DataConfig

    return DataConfig(
        num_frames=cfg.num_frames,
        mode="test",
        transform={"img_size": cfg.img_size, "brightness": None, "crop_scale": None, "flip_p": 0.0},
        audio={"target_frames": cfg.audio_frames, "num_mel_bins": cfg.mel_bins},
    )


def demo_train_config(cfg: DemoConfig, out_dir: str | Path, progress: bool = True) -> TrainConfig:
    """The demo's adapter training on the CPU, into ``out_dir`` (a rerun replaces what is there)."""
    from ..recipe.config import TrainConfig

    return TrainConfig(
        epochs=cfg.epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        num_workers=0,
        device="cpu",
        amp="off",
        out_dir=str(out_dir),
        progress=progress,
        log_every=0,
        seed=cfg.seed + 1,
        overwrite=True,
        epoch_lines=False,  # EpochReport logs the demo's own line per epoch
    )


def run_demo(cfg: DemoConfig | None = None, progress: bool = True) -> DemoResult:
    """Run the demo; returns the final UAR/WAR of every preset trained."""
    import mmadapt

    from ..data import VideoManifestDataset
    from ..recipe.loop import train
    from .report import EpochReport
    from .run_folder import save_run_folder

    cfg = cfg or DemoConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    start = time.perf_counter()
    out = Path(cfg.out_dir)
    syn = SyntheticConfig(size=cfg.img_size, nuisance=cfg.nuisance)
    data = make_synthetic_dataset(out / "data", n_per_class=cfg.n_per_class, seed=cfg.seed, config=syn)
    data_cfg = demo_data_config(cfg)
    train_set = _Memo(VideoManifestDataset(data.train_manifest, data_cfg, class_names=SYNTHETIC_CLASSES))
    test_set = _Memo(VideoManifestDataset(data.test_manifest, data_cfg, class_names=SYNTHETIC_CLASSES))

    torch.manual_seed(cfg.seed)
    audio_vit, video_vit = make_backbones(cfg)
    pretraining = pretrain_backbones(audio_vit, video_vit, cfg)

    metrics: dict[str, dict[str, float]] = {}
    run_dirs: dict[str, Path] = {}
    last_model = None
    for preset in cfg.presets:
        torch.manual_seed(cfg.seed)
        model = mmadapt.wrap_encoders(
            copy.deepcopy(audio_vit),
            copy.deepcopy(video_vit),
            preset=demo_model_config(preset, audio_vit, video_vit, cfg),
        )
        train_cfg = demo_train_config(cfg, out / "runs" / preset, progress)
        result = train(
            model, train_set, test_set, train_cfg, callbacks=[EpochReport(preset)], class_names=SYNTHETIC_CLASSES
        )
        run_dirs[preset] = save_run_folder(
            Path(train_cfg.out_dir),
            preset,
            {"audio": audio_vit, "video": video_vit},
            cfg,
            data,
            data_cfg,
            train_cfg,
            demo_adapter_overrides(preset, audio_vit, video_vit, cfg),
        )
        final = result.final
        metrics[preset] = {"uar": float(final["uar"]), "war": float(final["war"])}
        logger.info("%s: UAR %.3f WAR %.3f", preset, metrics[preset]["uar"], metrics[preset]["war"])
        last_model = last_model or model

    prediction = predict_clip(last_model, test_set, data.test_manifest, SYNTHETIC_CLASSES) if last_model else {}
    if last_model is not None:
        prediction["adapter"] = str(run_dirs[cfg.presets[0]])  # last_model is the first preset's
    result = DemoResult(
        out, metrics, pretraining, prediction, time.perf_counter() - start, run_dirs, data.test_manifest
    )
    write_json(
        out / "demo_results.json",
        {
            "config": asdict(cfg),
            "metrics": metrics,
            "pretraining": pretraining,
            "prediction": prediction,
            "seconds": result.seconds,
        },
    )
    return result


@dataclass
class SeedSweep:
    """Per-preset UAR/WAR over several demo seeds (each seed: its own data, pretraining and training)."""

    seeds: list[int]
    runs: dict[int, DemoResult]
    summary: dict[str, dict[str, Any]]  # preset -> {"uar": [...], "uar_mean", "uar_std", "war": [...], ...}


def run_seed_sweep(cfg: DemoConfig, seeds: list[int], progress: bool = True) -> SeedSweep:
    """``run_demo`` once per seed under ``<out_dir>/seed_<k>``, then mean and standard deviation per preset.

    Why: on a 72-clip test split one run's UAR moves by several points with the seed (whether a run learns a hard
    pair at all), so comparisons between ablations need several seeds.
    """
    from ..study.stats import mean_std

    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"run_seed_sweep needs distinct seeds, got {seeds}")
    runs: dict[int, DemoResult] = {}
    for seed in seeds:
        runs[seed] = run_demo(
            replace(cfg, seed=seed, out_dir=str(Path(cfg.out_dir) / f"seed_{seed}")), progress=progress
        )
    summary: dict[str, dict[str, Any]] = {}
    for preset in cfg.presets:
        row: dict[str, Any] = {}
        for metric in ("uar", "war"):
            values = [runs[s].metrics[preset][metric] for s in seeds]
            row[metric] = values
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean_std(values)
        summary[preset] = row
    write_json(Path(cfg.out_dir) / "seed_sweep.json", {"seeds": list(seeds), "summary": summary})
    return SeedSweep(list(seeds), runs, summary)


def _preset_config(preset: str, audio_vit: nn.Module, video_vit: nn.Module):
    import mmadapt

    from ..anatomy import resolve_anatomy

    return mmadapt.get_preset(preset, resolve_anatomy(audio_vit), resolve_anatomy(video_vit))


def demo_adapter_overrides(preset: str, audio_vit: nn.Module, video_vit: nn.Module, cfg: DemoConfig) -> dict[str, Any]:
    """The demo's size overrides of the adapters ``preset`` keeps (its ``None`` adapters stay off; an override
    typed for another kind leaves that adapter at its preset's sizes), plus the head's frame count."""
    from .._preset_overrides import overrides_for_preset

    base = _preset_config(preset, audio_vit, video_vit)
    overrides = copy.deepcopy(overrides_for_preset(base, cfg.adapter_overrides))
    overrides["head"] = {**overrides.get("head", {}), "max_frames": cfg.num_frames}
    return overrides


def demo_model_config(preset: str, audio_vit: nn.Module, video_vit: nn.Module, cfg: DemoConfig):
    """The preset's config with the demo's size overrides (:func:`demo_adapter_overrides`)."""
    base = _preset_config(preset, audio_vit, video_vit)
    overrides = demo_adapter_overrides(preset, audio_vit, video_vit, cfg)
    return base.with_overrides(num_classes=len(SYNTHETIC_CLASSES), **overrides)


def predict_clip(model: nn.Module, test_set: Dataset, manifest: Path, class_names: tuple[str, ...]) -> dict[str, Any]:
    """Class probabilities of the first held-out clip (the same decoding path as `mmadapt predict`): the top three
    rounded for printing, and every class's unrounded probability."""
    from ..data.batch import LABEL_KEY

    item = test_set[0]
    label = item[LABEL_KEY]
    model.eval()
    with torch.no_grad():
        probs = model(**{s: x.unsqueeze(0) for s, x in item.items() if s != LABEL_KEY}).softmax(-1)[0]
    first = manifest.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    order = probs.argsort(descending=True).tolist()
    return {
        "video": str(manifest.parent / first),
        "true": class_names[int(label)],
        "top": [(class_names[i], round(float(probs[i]), 4)) for i in order[:3]],
        "probabilities": {name: float(probs[i]) for i, name in enumerate(class_names)},
    }
