"""The adapter's model card: a short ``README.md`` that ``save_adapter`` writes beside the weights, as PEFT does.

Why: an adapter folder travels alone (a hub upload, a colleague's disk); the card says what it is for and how to
load it without reading JSON. It is rendered from the same record as ``adapter_config.json``, so it cannot drift.
A ``README.md`` a person wrote (one without :data:`CARD_MARKER` on its first line) is never overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["CARD_MARKER", "MODEL_CARD_NAME", "may_write_card", "render_model_card"]

MODEL_CARD_NAME = "README.md"
CARD_MARKER = "<!-- mmadapt model card: written by save_adapter; remove this line to keep your own edits -->"
_ROLES = ("prompts", "fusion", "head")


def may_write_card(directory: str | Path) -> bool:
    """Whether ``save_adapter`` may (re)write the card in ``directory``: none there yet, or one it wrote."""
    path = Path(directory) / MODEL_CARD_NAME
    if not path.exists():
        return True
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.readline().rstrip("\n") == CARD_MARKER
    except OSError:
        return False


def _kind(entry: Any) -> str:
    if entry is None:
        return "off"
    if isinstance(entry, Mapping):
        settings = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "type" and not isinstance(v, (dict, list)))
        return f"`{entry.get('type', '?')}` ({settings})" if settings else f"`{entry.get('type', '?')}`"
    return f"`{entry}`"


def render_model_card(record: Mapping[str, Any]) -> str:
    """Markdown for the record ``save_adapter`` writes as ``adapter_config.json``."""
    config = record["config"]
    preset = record.get("preset") or "a custom configuration"
    streams = record["streams"]
    names = [s["name"] for s in streams]
    backbones = record.get("backbones", {})
    lines = [
        CARD_MARKER,
        f"# mmadapt adapter: {preset}",
        "",
        f"Adapters trained over {len(names)} frozen encoder(s) ({', '.join(names)}) with "
        f"mmadapt {record['mmadapt_version']}; {config.get('num_classes')} classes. "
        "Only the adapters are stored here; the backbones stay as they were published.",
        "",
        "| stream | family | backbone | width | depth | input size | per frame |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in streams:
        b = backbones.get(s["name"], {})
        size = config.get("input_sizes", {}).get(s["name"]) or b.get("input_size")
        size_text = "x".join(str(v) for v in size) if size else "native"
        lines.append(
            f"| {s['name']} | {b.get('family', '?')} | `{b.get('cls', '?')}` | {b.get('width', '?')} | "
            f"{b.get('depth', '?')} | {size_text} | {'yes' if s['per_frame'] else 'no'} |"
        )
    lines += ["", "Adapter kinds:", ""]
    lines += [f"- {role}: {_kind(config.get(role))}" for role in _ROLES]
    lines += [
        "",
        f"{record['num_parameters']:,} adapter parameters in {record['num_tensors']} tensors "
        f"(adapter file format {record['format_version']}).",
        "",
        "## Load",
        "",
        "```python",
        "import mmadapt",
        "",
        f"# {', '.join(names)}: the same backbones as in the table, with their pretrained weights",
        f'model = mmadapt.MultimodalAdapterModel.from_pretrained("path/to/this/folder", {", ".join(f"{n}={n}_vit" for n in names)})',  # noqa: E501
        "model.eval()",
        "```",
        "",
        "From the command line: `mmadapt predict --adapter path/to/this/folder CLIP.mp4` (with the run's "
        "`experiment.yaml`), or `mmadapt info path/to/this/folder`.",
        "",
    ]
    return "\n".join(lines)
