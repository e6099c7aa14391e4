"""The ``mmadapt`` command line: one module per subcommand, registered in ``COMMANDS``.

A subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.

Errors end a command with one line on stderr and no traceback (``--debug`` or ``MMADAPT_DEBUG=1`` shows it): an
error raised on purpose exits with its class's ``exit_code`` (2 for what the user gave, like argparse; 1 for a run
that failed, e.g. :class:`~mmadapt.errors.NonFiniteError`), a missing or unreadable user file exits 2, anything
else is a bug reported as an internal error (exit 1), and Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from collections.abc import Sequence

from ..errors import MMAdaptError
from ..registry import Registry
from ._help import HelpFormatter
from ._output import CommandLogFormatter, command_output

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
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error (also: MMADAPT_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_path in COMMANDS.items():
        module = importlib.import_module(module_path)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__, formatter_class=HelpFormatter)
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
    _line_buffered_stdout()
    handler = logging.StreamHandler()
    handler.setFormatter(CommandLogFormatter(args.command or "-", with_names=args.verbose >= 2))
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)], handlers=[handler])
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    with command_output(args.command):
        return _run(args)


def _line_buffered_stdout() -> None:
    """Piped into a file or `tee`, stdout is block-buffered: a long command's lines would arrive minutes late and
    out of order with the log lines on stderr. One flush per line costs nothing at the commands' output rates."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and not sys.stdout.line_buffering:
        reconfigure(line_buffering=True)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush into the closed pipe raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor (a test's StringIO) has nothing to flush
        pass


def _run(args: argparse.Namespace) -> int:
    if args.debug or os.environ.get("MMADAPT_DEBUG", "") not in ("", "0"):
        return int(args._run(args) or 0)
    try:
        return int(args._run(args) or 0)
    except MMAdaptError as e:
        _report(args.command, "error", _one_line(e))
        return e.exit_code
    except BrokenPipeError:  # `mmadapt info --presets | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except OSError as e:  # a user path that is missing, a folder, unreadable, full disk...
        _report(args.command, "error", _one_line(e))
        return 2
    except KeyboardInterrupt:
        _report(args.command, "error", "interrupted")
        return 130
    except Exception as e:  # a bug: still one line, with the way to the traceback
        hint = "rerun with --debug for the traceback"
        _report(args.command, "internal error", f"{type(e).__name__}: {_one_line(e)} ({hint})")
        return 1


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _report(command: str, kind: str, message: str) -> None:
    print(f"mmadapt {command}: {kind}: {message}", file=sys.stderr)


# command name -> module in this package, in the order `mmadapt --help` lists them
for _name, _module in (
    ("demo", "demo"),
    ("train", "train"),
    ("study", "study"),
    ("eval", "evaluate"),  # not `eval.py`: that would shadow the builtin inside the package
    ("predict", "predict"),
    ("export", "export"),
    ("prep-faces", "prep_faces"),
    ("info", "info"),
    ("convert-official", "convert_official"),
):
    register_command(_name, f"{__name__}.{_module}")
