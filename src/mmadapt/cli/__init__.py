"""The ``mmadapt`` command line: one module per subcommand, registered in ``COMMANDS``.

A subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from collections.abc import Sequence

from ..errors import MMAdaptError
from ..registry import Registry

__all__ = ["COMMANDS", "build_parser", "main", "register_command"]

_MODULE_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def _validate(name: str, module: str) -> None:
    if not isinstance(module, str) or not _MODULE_PATH.fullmatch(module):
        raise TypeError(f"command {name!r}: the module must be a dotted module path, got {module!r}")


COMMANDS: Registry[str] = Registry("command", validate=_validate)
"""Subcommand name -> module path, in the order ``mmadapt --help`` lists them (imported lazily so that
``mmadapt --help`` stays fast)."""


def register_command(name: str, module: str, *, override: bool = False) -> str:
    """Register subcommand ``name`` implemented by ``module`` (a dotted path); the same module again is a no-op."""
    if name in COMMANDS and COMMANDS.get(name) == module:
        return COMMANDS.get(name)  # an equal path is the same command, even if not the same string object
    return COMMANDS.register(name, module, override=override)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmadapt",
        description="Multimodal adapters for unimodal ViTs (audio, video, ... by stream name); the MMA-DFER recipe.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_path in COMMANDS.items():
        module = importlib.import_module(module_path)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is not None and first not in COMMANDS:  # argparse would list the choices; name the close one too
        print(f"mmadapt: error: {COMMANDS.unknown_message(first)}", file=sys.stderr)
        return 2
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
