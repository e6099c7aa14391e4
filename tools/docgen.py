"""Render the generated parts of README.md and docs/ (preset table, speed table, CLI reference) from their sources.

Each generated block sits between ``<!-- BEGIN generated: NAME -->`` and ``<!-- END generated: NAME -->`` in a
Markdown file; ``python tools/docgen.py`` rewrites every block, ``--check`` only says which are stale (exit 1).
``tests/docs/test_generated.py`` runs the check, so a new preset, a changed option or a new benchmark record
shows up as a failing test until the script is rerun. Sources: the preset registry (parameter counts on
meta-device backbones, nothing allocated), the argparse parsers of ``mmadapt`` and ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS: dict[str, tuple[str, ...]] = {
    "presets": ("README.md",),
    "speed": ("README.md", "docs/speed.md"),
    "cli": ("docs/cli.md",),
}
"""Block name -> the files (relative to the repository root) that carry it."""

_BLOCK = re.compile(
    r"(<!-- BEGIN generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated: (?P=name) -->)", re.S
)
PRESET_PAIR = ("audiomae_vit_base", "maeface_vit_base", 160)
"""The backbones the preset table counts on: the MMA-DFER pair (two ViT-B/16), video at 160 px."""
HELP_COLUMNS = 100


def _kind(config, role: str) -> str:
    from mmadapt.adapters.kinds import kind_of

    if config is None:
        return "-"
    label = f"`{kind_of(config, role).name}`"
    progressive = getattr(config, "progressive", None)
    if progressive is not None:  # prompts: updated between blocks, or the same prompts all the way
        updates = getattr(config, "num_updates", None)
        label += (
            f" ({updates} updates)" if progressive and updates else " (progressive)" if progressive else " (static)"
        )
    if getattr(config, "use_transformer", None) is False:
        label += " (mean over frames)"
    return label


def preset_table() -> str:
    """One row per registered preset: its kinds, what it is, and the trainable parameters it gives the pair."""
    import torch

    import mmadapt
    from mmadapt.backbones import create_backbone
    from mmadapt.cli.info import wrap_fitting

    audio_name, video_name, size = PRESET_PAIR
    lines = [
        f"Trainable parameters on the MMA-DFER pair (`{audio_name}` + `{video_name}`, two ViT-B/16, video at "
        f"{size} px), counted by `tools/docgen.py`:",
        "",
        "| preset | prompts | fusion | head | trainable | paper | what it is |",
        "|---|---|---|---|---:|---:|---|",
    ]
    for name in mmadapt.list_presets():
        with torch.device("meta"):  # shapes only: two ViT-B/16 would otherwise take seconds and 700 MB
            audio = create_backbone(audio_name).model
            video = create_backbone(video_name, img_size=size).model
            model = wrap_fitting(name, {"audio": audio, "video": video})  # one-stream presets on their stream
        c, record = model.config, mmadapt.presets.preset_record(name)
        count = sum(p.numel() for p in model.adapter_parameters())
        paper = "" if record.paper_params_m is None else f"{record.paper_params_m:g} M"
        lines.append(
            f"| `{name}` | {_kind(c.prompts, 'prompts')} | {_kind(c.fusion, 'fusion')} | {_kind(c.head, 'head')} | "
            f"{count:,} | {paper} | {record.description.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def speed_table() -> str:
    from benchmarks.report import render_speed_summary

    return render_speed_summary(ROOT / "benchmarks" / "results")


def cli_reference() -> str:
    """``mmadapt --help`` and every subcommand's ``--help``, as argparse prints them at a fixed width."""
    from mmadapt.cli import COMMANDS, build_parser

    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS=str(HELP_COLUMNS), NO_COLOR="1")
    try:
        parser = build_parser()
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parts = ["## `mmadapt`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name in COMMANDS:
            parts += [f"## `mmadapt {name}`", "", "```text", sub.choices[name].format_help().rstrip(), "```", ""]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return "\n".join(parts)


RENDERERS: dict[str, Callable[[], str]] = {"presets": preset_table, "speed": speed_table, "cli": cli_reference}


def render_file(text: str, blocks: dict[str, str]) -> str:
    """``text`` with the body of every generated block named in ``blocks`` replaced."""
    return _BLOCK.sub(lambda m: m[1] + blocks.get(m["name"], m["body"]) + m[4], text)


def block_names(text: str) -> list[str]:
    return [m["name"] for m in _BLOCK.finditer(text)]


def stale(root: Path = ROOT) -> dict[str, str]:
    """File -> its freshly rendered text, for every target file whose generated blocks are out of date."""
    blocks = {name: fn() for name, fn in RENDERERS.items()}
    out = {}
    for name, files in TARGETS.items():
        for rel in files:
            path = root / rel
            text = path.read_text()
            if name not in block_names(text):
                raise SystemExit(f"{rel}: no '<!-- BEGIN generated: {name} -->' block")
            new = render_file(text, blocks)
            if new != text:
                out[rel] = new
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    todo = stale()
    for rel, text in todo.items():
        if args.check:
            print(f"{rel}: generated blocks are stale (run python tools/docgen.py)")
        else:
            (ROOT / rel).write_text(text)
            print(f"rewrote {rel}")
    return 1 if todo and args.check else 0


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    raise SystemExit(main())
