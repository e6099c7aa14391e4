"""Every ```yaml block of README.md and docs/*.md is an experiment file that ``ExperimentConfig.load`` (the loader of
``mmadapt train``) accepts; the block marked ``<!-- yaml: every key -->`` names every key of the code with its
default; the ```csv / ```jsonl blocks are manifests that ``read_manifest`` accepts. So a renamed or new key, a
changed default or a changed manifest rule fails here until the documentation says so."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from mmadapt.data import get_dataset_spec, read_manifest
from mmadapt.recipe.experiment import ExperimentConfig

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EVERY_KEY = "<!-- yaml: every key -->"
_FENCE = re.compile(r"(?P<mark><!-- [^>]*-->\n)?```(?P<lang>yaml|csv|jsonl)\n(?P<body>.*?)```", re.S)
MAY_DIFFER = {
    "data.source.train": "the example names its data",
    "data.source.val": "the example names its data",
    "data.source.class_names": "the example names its data",
    "train.num_workers": "the default depends on the machine",
    "train.out_dir": "a relative path, made absolute against the file's folder",
}
"""Keys where the every-key block may show another value than the default, and why."""


def fences(lang: str) -> list[tuple[str, int, str | None, str]]:
    """(page name, block index on that page, marker or None, body) of every ```lang block."""
    found = []
    for page in PAGES:
        hits = [m for m in _FENCE.finditer(page.read_text()) if m["lang"] == lang]
        found += [(page.name, i, m["mark"] and m["mark"].strip(), m["body"]) for i, m in enumerate(hits)]
    return found


def _ids(block: tuple[str, int, str | None, str]) -> str:
    return f"{block[0]}[{block[1]}]"


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value; the free-form dicts (``overrides``, ``kwargs``) are values, not sections."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k not in ("overrides", "kwargs"):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


@pytest.mark.parametrize("block", fences("yaml"), ids=_ids)
def test_every_yaml_block_is_an_experiment_the_loader_accepts(block, tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text(block[3])
    cfg = ExperimentConfig.load(path)
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg


def test_the_every_key_block_names_every_key_with_its_default(tmp_path):
    (block,) = [b for b in fences("yaml") if b[2] == EVERY_KEY]
    written = _flatten(yaml.safe_load(block[3]))
    defaults = _flatten(ExperimentConfig().to_dict())
    defaults.pop("mmadapt_version")
    assert sorted(set(defaults) - set(written)) == [], "keys the code has but the block does not show"
    assert sorted(set(written) - set(defaults)) == [], "keys the block shows but the code does not have"

    path = tmp_path / "experiment.yaml"
    path.write_text(block[3])
    loaded = _flatten(ExperimentConfig.load(path).to_dict())
    differ = sorted(k for k in defaults if loaded[k] != defaults[k] and k not in MAY_DIFFER)
    assert differ == [], f"the block shows other values than the defaults for {differ}"


def test_the_guide_has_an_every_key_block_and_experiments():
    assert [b[0] for b in fences("yaml") if b[2] == EVERY_KEY] == ["recipe.md"]
    assert len([b for b in fences("yaml") if b[0] == "recipe.md"]) >= 3


@pytest.mark.parametrize("block", fences("csv") + fences("jsonl"), ids=_ids)
def test_every_manifest_block_is_read_as_documented(block, tmp_path):
    """The examples label by DFEW's class names; relative paths resolve against the manifest's folder."""
    suffix = ".csv" if block[3].startswith("video,") else ".jsonl"
    path = tmp_path / f"manifest{suffix}"
    path.write_text(block[3])
    records = read_manifest(path, class_names=get_dataset_spec("dfew").class_names)
    assert len(records) == len(block[3].strip().splitlines()) - (suffix == ".csv")
    assert records[0].video == tmp_path / "clips" / "0001.mp4" and records[0].audio is None
    assert records[0].label == 0 and records[1].label == 3 and records[1].audio == tmp_path / "wav" / "0002.wav"


def _documented_overrides() -> list[str]:
    """The ``key=value`` arguments of every ``mmadapt train`` / ``torchrun ... train`` line in recipe.md's
    ```bash blocks (continued lines joined)."""
    text = (ROOT / "docs" / "recipe.md").read_text()
    found = []
    for body in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in body.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if "train" in words and words[0] in ("mmadapt", "torchrun"):
                found += [w for w in words if re.match(r"[a-z_]+(\.[a-z_]+)+=", w)]
    return found


def test_the_documented_command_line_overrides_parse():
    overrides = _documented_overrides()
    assert len(overrides) >= 6
    cfg = ExperimentConfig().with_overrides(overrides)
    assert cfg.train.betas == (0.9, 0.98) and cfg.data.source.class_names == ["a", "b", "c"]
    assert cfg.data.img_size == 112 and cfg.model.overrides == {"fusion": {"latent_dim": 64}}
