"""The ``mmadapt`` command line: one module per subcommand, registered in ``_COMMANDS``.

A subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ..errors import MMAdaptError

# name -> module (imported lazily so `mmadapt --help` stays fast)
_COMMANDS: dict[str, str] = {}


def register_command(name: str, module: str) -> None:
    """Register subcommand ``name`` implemented by ``module`` (a dotted path)."""
    if name in _COMMANDS and _COMMANDS[name] != module:
        raise ValueError(f"command {name!r} is already registered by {_COMMANDS[name]}")
    _COMMANDS[name] = module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmadapt",
        description="Multimodal adapters for two unimodal ViTs (audio + video); the MMA-DFER recipe.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_path in _COMMANDS.items():
        module = importlib.import_module(module_path)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except (MMAdaptError, FileNotFoundError) as e:
        print(f"mmadapt {args.command}: error: {e}", file=sys.stderr)
        return 1


# command name -> module in this package, in the order `mmadapt --help` lists them
for _name, _module in (
    ("demo", "demo"),
    ("train", "train"),
    ("eval", "evaluate"),  # not `eval.py`: that would shadow the builtin inside the package
    ("predict", "predict"),
    ("prep-faces", "prep_faces"),
    ("info", "info"),
    ("convert-official", "convert_official"),
):
    register_command(_name, f"{__name__}.{_module}")
