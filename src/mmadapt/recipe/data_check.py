"""The experiment's data check, run by ``mmadapt train`` and ``mmadapt eval`` before any backbone is built.

It checks the split files of an :class:`~mmadapt.recipe.experiment.ExperimentConfig` clip by clip
(:mod:`mmadapt.data.preflight`) and the class count: ``model.num_classes`` must equal the number of class names
when both are known. When neither is set (``model.num_classes: null`` and no ``data.source.class_names`` /
``data.source.dataset``) the count is inferred from the labels of every split (largest + 1), warned about, and
written into the returned config so the saved experiment records it. Every problem is collected; they end the
command with one :class:`~mmadapt.data.errors.DataCheckError` line naming their count and the first few.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from ..data import AudioRule, get_dataset_spec
from ..data.errors import DataCheckError
from ..data.preflight import SplitCheck, check_annotation_list, check_manifest
from .experiment import ExperimentConfig, class_names

__all__ = ["SHOWN_PROBLEMS", "check_experiment_data"]

logger = logging.getLogger(__name__)

SHOWN_PROBLEMS = 5
"""Problems quoted in the error line; the rest are counted."""


def _names_key(cfg: ExperimentConfig) -> str:
    src = cfg.data.source
    return "data.source.class_names" if src.class_names is not None else f"data.source.dataset={src.dataset!r}"


def _check_split(cfg: ExperimentConfig, path: str, num_classes: int | None) -> SplitCheck:
    src, data = cfg.data.source, cfg.data
    names = class_names(cfg)
    if src.kind == "manifest":
        return check_manifest(
            path,
            class_names=names,
            num_classes=num_classes,
            missing_audio=data.missing_audio,
            sample_rate=data.sample_rate,
        )
    spec = get_dataset_spec(src.dataset) if src.dataset is not None else None
    if src.audio_dir is not None:
        rule: AudioRule | None = AudioRule(Path(src.audio_dir), src.audio_pattern)
    else:
        rule = spec.audio_rule(src.root) if spec is not None and src.root is not None else None
    count = (
        spec.num_classes
        if spec is not None
        else num_classes
        if num_classes is not None
        else (len(names) if names is not None else None)
    )
    return check_annotation_list(
        path, count, root=src.root, audio_rule=rule, missing_audio=data.missing_audio, sample_rate=data.sample_rate
    )


def check_experiment_data(
    cfg: ExperimentConfig, files: Sequence[str], *, adapter_classes: int | None = None
) -> ExperimentConfig:
    """Check the split ``files``; raise :class:`DataCheckError` listing what is wrong.

    ``adapter_classes`` (eval: what a trained adapter predicts) stands in for ``model.num_classes``. Returns
    ``cfg``, with ``model.num_classes`` filled in when it had to be inferred from the labels.
    """
    started = time.perf_counter()
    names = class_names(cfg)
    wanted = cfg.model.num_classes if adapter_classes is None else adapter_classes
    said = f"model.num_classes={wanted}" if adapter_classes is None else f"the adapter predicts {wanted} classes"
    problems: list[str] = []
    if wanted is not None and names is not None and wanted != len(names):
        problems.append(f"{said} but {_names_key(cfg)} names {len(names)} classes")
    checks = [_check_split(cfg, path, wanted if names is None else None) for path in files]
    problems += [str(p) for check in checks for p in check.problems]
    clips = sum(check.clips for check in checks)
    if problems:
        raise DataCheckError(problems, clips, SHOWN_PROBLEMS)
    logger.info("data check: %d clips of %d files in %.2f s", clips, len(checks), time.perf_counter() - started)
    if wanted is None and names is None and checks:
        labels = [label for check in checks for label in check.labels]
        inferred = max(labels) + 1
        logger.warning(
            "model.num_classes is not set and no class names are given: %d classes inferred from the labels of %s",
            inferred,
            ", ".join(Path(p).name for p in files),
        )
        return cfg.replace(model=cfg.model.replace(num_classes=inferred))
    return cfg
