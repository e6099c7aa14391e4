"""Describe one backbone, or show the trainable-parameter table of a preset on a pair of backbones.

mmadapt info SPEC prints what mmadapt reads from one backbone (family, class, width, depth, heads, patch size,
native input size, prefix tokens, parameters, where its weights came from) and what the preset tunes on it as
the only stream. SPEC is one of:

  NAME                 a registered mmadapt builder (maeface_vit_base) or a timm model name (vit_base_patch16_224)
  FOLDER               a local Hugging Face model folder, as written by save_pretrained
  FILE.safetensors     a weights file (.safetensors, .pth, .pt, .bin...); --arch names the architecture it fits
  EXPERIMENT.yaml      an experiment config (.yaml/.yml/.json): its model.audio and model.video (or --stream),
                       at the experiment's data sizes, with its preset and model.overrides
  RUN                  a run folder of `mmadapt train`/`demo` (or its adapter folder): its experiment.yaml
  '{name: N, kwargs: {...}, checkpoint: F}'
                       the model.audio / model.video form of an experiment, inline (YAML)

e.g. mmadapt info vit_small_patch16_224 --kwargs '{img_size: 160}' --checkpoint small.safetensors
     mmadapt info pretrained/dinov2-small --input-size 224
     mmadapt info examples/configs/hf_folders.yaml --stream video

A spec that cannot be described (unknown name, missing folder, a folder that is no model, an unsupported class,
weights that do not fit) ends with one line on stderr and exit status 2.

Without SPEC: the table of --preset on the pair --audio-backbone / --video-backbone, built on the meta device
(no weights, no memory), e.g. mmadapt info --preset mma-dfer --video-backbone maeface_vit_base --img-size 160.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._common import EXPERIMENT_FILE
from ._help import HelpFormatter

HELP = "describe a backbone spec (family, sizes, what a preset tunes), or a preset's table on a pair"

EXPERIMENT_SUFFIXES = (".yaml", ".yml", ".json")
STREAMS = ("audio", "video")
"""The streams of an experiment file, in the order they are described."""


class _Formatter(HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the option help, and the description's table of SPEC forms kept as written."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = _Formatter
    p.add_argument("spec", nargs="?", default=None, metavar="SPEC", help="the backbone to describe (forms above)")
    one = p.add_argument_group("with SPEC")
    one.add_argument(
        "--kwargs",
        default=None,
        metavar="YAML",
        help="constructor keywords as a YAML mapping, e.g. '{img_size: 160, drop_path_rate: 0.0}'",
    )
    one.add_argument("--checkpoint", default=None, metavar="FILE", help="local weights file loaded strictly")
    one.add_argument(
        "--arch",
        default=None,
        metavar="NAME",
        help="when SPEC is a weights file: the builder or timm name (or HF folder) it is loaded into",
    )
    one.add_argument(
        "--stream",
        default=None,
        metavar="NAME",
        help="stream name the backbone takes (video is per frame); for an experiment file, which of "
        "audio/video to describe (default: video for one backbone, both for an experiment)",
    )
    one.add_argument(
        "--input-size",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="H [W]: input size the preset is attached at (default: the backbone's native size)",
    )
    pair = p.add_argument_group("without SPEC (and --preset, --num-classes for both)")
    p.add_argument(
        "--preset", default="mma-dfer", help="preset name (see --list-presets); an experiment file's model.preset wins"
    )
    p.add_argument(
        "--presets",
        "--list-presets",
        dest="list_presets",
        action="store_true",
        help="table of every registered preset: its trainable parameters on the --audio-backbone / --video-backbone "
        "pair (built on the meta device) beside the paper's count, and exit",
    )
    pair.add_argument("--audio-backbone", default="audiomae_vit_base", help="registered backbone name or timm name")
    pair.add_argument("--video-backbone", default="maeface_vit_base", help="registered backbone name or timm name")
    pair.add_argument("--img-size", type=int, default=160, help="video frame size (pixels)")
    p.add_argument("--num-classes", type=int, default=7, help="number of classes (an experiment's own wins)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compute the table even if this question was answered before (answers are remembered per code and "
        "package versions in $MMADAPT_CACHE_DIR, default ~/.cache/mmadapt)",
    )


PAIR_ARGUMENTS = ("list_presets", "preset", "audio_backbone", "video_backbone", "img_size", "num_classes")
"""What the tables without SPEC depend on (besides code and package versions): the key of their remembered answer."""


def run(args: argparse.Namespace) -> int:
    if args.spec is None:
        return _remembered(args, _presets_table if args.list_presets else _pair_table)
    for i, target in enumerate(_targets(args)):
        print(("\n" if i else "") + "\n".join(_describe(target, args)))
    return 0


def _remembered(args: argparse.Namespace, table: Callable[[argparse.Namespace], int]) -> int:
    """Print ``table(args)``, from the answer cache when this very question was answered by this very code and
    these package versions before (:mod:`mmadapt.cli._answers`): a repeat needs no torch and answers at once."""
    import contextlib
    import io
    import sys

    from . import _answers

    if args.no_cache or not _answers.usable():
        return table(args)
    key = _answers.answer_key("info", {a: getattr(args, a) for a in PAIR_ARGUMENTS})
    cached = _answers.read_answer(key)
    if cached is not None:
        sys.stdout.write(cached)
        return 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = table(args)
    sys.stdout.write(out.getvalue())
    if status == 0:
        _answers.write_answer(key, out.getvalue())
    return status


# ---- SPEC -> what to build ----------------------------------------------------------------------------------
@dataclass
class _Target:
    """One backbone to describe: its spec as an experiment writes it, the stream, preset and wrap overrides."""

    label: str
    spec: Any  # mmadapt.recipe.experiment.BackboneSpec
    stream: str
    preset: str
    num_classes: int | None
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Form:
    """One way to read SPEC: ``accepts(spec)`` and ``targets(spec, args)``."""

    name: str
    accepts: Callable[[str], bool]
    targets: Callable[[str, argparse.Namespace], list[_Target]]


def _yaml_mapping(text: str, what: str) -> dict[str, Any]:
    import yaml

    from ..errors import ConfigError

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {text!r}: invalid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{what} {text!r}: expected a YAML mapping such as '{{img_size: 160}}'")
    return value


def _single(spec: Any, label: str, args: argparse.Namespace) -> list[_Target]:
    stream = args.stream or "video"
    overrides = {}
    if args.input_size is not None:
        overrides["input_sizes"] = {stream: _size(args.input_size)}
    return [_Target(label, spec, stream, args.preset, args.num_classes, overrides)]


def _size(values: list[int]) -> tuple[int, int]:
    from ..errors import ConfigError

    if len(values) not in (1, 2) or min(values) < 1:
        raise ConfigError(f"--input-size takes H or H W (positive integers), got {' '.join(map(str, values))}")
    return (values[0], values[-1])


def _spec_flags(args: argparse.Namespace, name: str, checkpoint: str | None) -> Any:
    from ..recipe.experiment import BackboneSpec

    kwargs = _yaml_mapping(args.kwargs, "--kwargs") if args.kwargs is not None else {}
    return BackboneSpec(name=name, kwargs=kwargs, checkpoint=checkpoint)


def _refuse_single_flags(args: argparse.Namespace, what: str) -> None:
    from ..errors import ConfigError

    given = [f"--{f.replace('_', '-')}" for f in ("kwargs", "checkpoint", "arch", "input_size") if getattr(args, f)]
    if given:
        raise ConfigError(f"{' '.join(given)}: not with {what} (it says everything about its backbones itself)")


def _inline_targets(spec: str, args: argparse.Namespace) -> list[_Target]:
    from ..recipe.experiment import BackboneSpec

    _refuse_single_flags(args, "an inline spec")
    backbone = BackboneSpec.from_dict(_yaml_mapping(spec, "SPEC"), where="SPEC")
    return _single(backbone, f"{backbone.name}", args)


def _experiment_targets(spec: str, args: argparse.Namespace) -> list[_Target]:
    from ..errors import ConfigError
    from ..recipe.experiment import ExperimentConfig, model_overrides, num_classes

    _refuse_single_flags(args, "an experiment file")
    cfg = ExperimentConfig.load(spec)
    if args.stream is not None and args.stream not in STREAMS:
        raise ConfigError(f"--stream {args.stream}: an experiment has the streams {list(STREAMS)}")
    try:
        classes: int | None = num_classes(cfg)
    except ConfigError:  # the data source is not there yet: the preset's count
        classes = None
    overrides = model_overrides(cfg)
    return [
        _Target(f"{spec} model.{s}", getattr(cfg.model, s), s, cfg.model.preset, classes, overrides)
        for s in STREAMS
        if args.stream in (None, s)
    ]


def _weights_targets(spec: str, args: argparse.Namespace) -> list[_Target]:
    from ..errors import ConfigError

    if args.arch is None:
        raise ConfigError(
            f"{spec} is a weights file, which holds no architecture: name it with --arch (a registered builder, "
            "a timm name or an HF folder), e.g. mmadapt info FILE --arch vit_base_patch16_224"
        )
    if args.checkpoint is not None:
        raise ConfigError(f"--checkpoint {args.checkpoint}: SPEC {spec} is already the weights file")
    return _single(_spec_flags(args, args.arch, spec), f"{args.arch} + {spec}", args)


def _name_targets(spec: str, args: argparse.Namespace) -> list[_Target]:
    from ..errors import ConfigError

    if args.arch is not None:
        raise ConfigError(f"--arch {args.arch}: only with a weights file as SPEC ({spec} is not a file)")
    label = spec + (f" + {args.checkpoint}" if args.checkpoint else "")
    return _single(_spec_flags(args, spec, args.checkpoint), label, args)


_FORMS: tuple[_Form, ...] = (
    _Form("inline model.<stream> mapping", lambda s: s.lstrip().startswith("{"), _inline_targets),
    _Form(
        "experiment file", lambda s: Path(s).suffix in EXPERIMENT_SUFFIXES and Path(s).is_file(), _experiment_targets
    ),
    _Form(
        "run or adapter folder",
        lambda s: (Path(s) / EXPERIMENT_FILE).is_file(),
        lambda s, args: _experiment_targets(str(Path(s) / EXPERIMENT_FILE), args),
    ),
    _Form("weights file", lambda s: Path(s).is_file(), _weights_targets),
    _Form("name or folder", lambda s: True, _name_targets),
)


def _targets(args: argparse.Namespace) -> list[_Target]:
    form = next(f for f in _FORMS if f.accepts(args.spec))
    return form.targets(args.spec, args)


# ---- describing ---------------------------------------------------------------------------------------------
def _describe(target: _Target, args: argparse.Namespace) -> list[str]:
    import torch

    from ..describe import describe_backbone
    from ..errors import ConfigError, MMAdaptError
    from ..recipe.experiment import load_backbone_spec

    if Path(target.spec.name).is_dir():
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its loading bar on stderr would break the one-line error
    with torch.random.fork_rng(devices=[]):  # random weights are drawn here; the caller's RNG stays as it was
        torch.manual_seed(0)
        backbone, report = load_backbone_spec(target.spec, target.stream)
    classes = target.num_classes if target.num_classes is not None else args.num_classes
    try:
        description = describe_backbone(
            backbone, preset=target.preset, stream=target.stream, num_classes=classes, **target.overrides
        )
    except MMAdaptError as err:  # unsupported class, a size it cannot run at, a bad override: name the spec
        raise type(err)(f"{target.label}: {err}") from err
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{target.label}: {' '.join(str(err).split())}") from err
    weights = report.summary() if report.pretrained else "random (no checkpoint given)"
    return [f"{target.label}", *description.lines(), f"weights: {weights}"]


# ---- without SPEC: the pair table -----------------------------------------------------------------------------
def _meta_pair(args: argparse.Namespace) -> tuple[Any, Any]:
    """The --audio-backbone / --video-backbone pair on the meta device: structure only, no weights, no memory."""
    import torch

    from ..backbones import create_backbone, list_backbones

    def make(name: str, **kw):
        if name in list_backbones():
            return create_backbone(name, **kw).model
        import timm

        return timm.create_model(name, pretrained=False, num_classes=0)

    with torch.device("meta"):
        audio = make(args.audio_backbone)
        video = (
            make(args.video_backbone, img_size=args.img_size)
            if args.video_backbone in list_backbones()
            else make(args.video_backbone)
        )
    return audio, video


def _pair_table(args: argparse.Namespace) -> int:
    import torch

    import mmadapt

    audio, video = _meta_pair(args)
    with torch.device("meta"):
        model = mmadapt.wrap_encoders(audio, video, preset=args.preset, num_classes=args.num_classes)
    rows = list(model.adapter_parameter_counts().items())
    width = max(len(n) for n, _ in rows)
    print(f"preset {args.preset}: audio {args.audio_backbone}, video {args.video_backbone} @ {args.img_size}px")
    for name, count in rows:
        print(f"  {name:{width}s} {count:>12,d}")
    print(f"  {'total trainable':{width}s} {sum(c for _, c in rows):>12,d}")
    print(model.trainable_parameters_summary())
    return 0


# ---- --presets: every preset on the pair ------------------------------------------------------------------------
def wrap_fitting(name: str, backbones: dict[str, Any], **kwargs: Any) -> Any:
    """``wrap_encoders(backbones, preset=name)``, or on the one stream a single-encoder preset (Table 5's
    audio-only / video-only) asks for: such a preset refuses the pair, and the table shows it on its stream."""
    import mmadapt

    from ..errors import ConfigError

    try:
        return mmadapt.wrap_encoders(dict(backbones), preset=name, **kwargs)
    except ConfigError as first:
        for stream, backbone in backbones.items():
            try:
                return mmadapt.wrap_encoders({stream: backbone}, preset=name, **kwargs)
            except ConfigError:
                continue
        raise first from None


def _presets_table(args: argparse.Namespace) -> int:
    """One row per registered preset: name, trainable parameters on the pair, the paper's Params (M), description.

    The pair is built once on the meta device and each preset wraps it, counts and detaches again, so the table
    costs a few seconds and allocates no ViT weights.
    """
    import torch

    import mmadapt

    from ..errors import MMAdaptError
    from ..presets import preset_record

    audio, video = _meta_pair(args)
    print(
        f"presets on audio {args.audio_backbone}, video {args.video_backbone} @ {args.img_size}px, "
        f"{args.num_classes} classes (trainable parameters; paper: Params (M) as the paper prints them)"
    )
    names = mmadapt.list_presets()
    width = max(len(n) for n in names)
    print(f"{'name':{width}s} {'trainable':>12s} {'paper':>6s}  description [paper reference]")
    for name in names:
        record = preset_record(name)
        description = record.description
        try:
            with torch.device("meta"):
                model = wrap_fitting(name, {"audio": audio, "video": video}, num_classes=args.num_classes)
            count = f"{model.get_nb_trainable_parameters()[0]:,d}"
            model.detach()
        except MMAdaptError as err:  # a preset meant for other streams: say why instead of a count
            count, description = "-", f"{description} (not on this pair: {err})"
        paper = f"{record.paper_params_m:g}" if record.paper_params_m is not None else "-"
        ref = f" [{record.paper_ref}]" if record.paper_ref else ""
        print(f"{name:{width}s} {count:>12s} {paper:>6s}  {description}{ref}")
    return 0
