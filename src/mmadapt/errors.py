"""Exceptions raised by mmadapt. Each names the thing that is wrong, so a user can fix it without a debugger."""

from __future__ import annotations


class MMAdaptError(Exception):
    """Base class of every error mmadapt raises on purpose."""

    exit_code: int = 2
    """What ``mmadapt`` exits with when this error ends a command: 2, like argparse, because an error raised on
    purpose names something the user gave (config, override, file, value); a subclass that reports a run failing
    for another reason sets 1."""


class UnsupportedBackboneError(MMAdaptError, TypeError):
    """The backbone's class has no registered anatomy (or the family cannot do what was asked)."""


class InputShapeError(MMAdaptError, ValueError):
    """An input tensor has the wrong rank, shape, dtype or size for the attached backbones."""


class ConfigError(MMAdaptError, ValueError):
    """A configuration is inconsistent (unknown keys, impossible schedule, bad layer map...)."""


class AdapterMismatchError(MMAdaptError, ValueError):
    """A saved adapter does not fit the model it is loaded into (backbone, keys, shapes)."""


class CheckpointError(MMAdaptError, ValueError):
    """A weights file is missing, truncated, corrupt, or unsafe to load."""


class RegistryError(MMAdaptError, LookupError):
    """A registry was asked for a name it does not hold, or refused a registration (taken or invalid name)."""

    def __str__(self) -> str:  # LookupError's KeyError cousin would quote the message; keep it plain
        return str(self.args[0]) if self.args else ""


class UnknownNameError(RegistryError, ConfigError):
    """A config value names an entry its registry does not hold (``dataset: dfwe``): a failed look-up and a config
    mistake at once, so both a registry client and a config loader that prefixes the file or override catch it."""


class NonFiniteError(MMAdaptError, FloatingPointError):
    """Training produced a non-finite loss or gradient more often than ``TrainConfig.max_nonfinite_steps`` allows
    (the run stops before any NaN weights reach a checkpoint or an adapter), or, with ``check_finite`` on, a model
    input or output holds NaN/inf (:mod:`mmadapt.finite`)."""

    exit_code = 1  # the command line was valid; the run failed on the numbers it met


class DetachedModelError(MMAdaptError, RuntimeError):
    """A model was used after ``detach()`` handed its backbones back (they may be wrapped again or changed)."""

    exit_code = 1  # a program error, not a bad value on the command line


class RunFolderError(MMAdaptError, ValueError):
    """A training run's ``out_dir`` holds another run's files (or a damaged ``run.json``), and neither ``resume`` nor
    ``overwrite`` says what to do with them."""


class RunFolderInUseError(RunFolderError):
    """Another process is training into the same run folder right now (it holds the folder's lock)."""


class BypassedOverrideWarning(UserWarning):
    """A backbone's class overrides a method of its family that mmadapt never calls (the lockstep runner drives the
    family's embed stage, blocks and final norm directly), so the override has no effect in the wrapped model.
    A class of its own so users can filter it: ``warnings.filterwarnings("ignore", category=...)``."""
