"""Moved to :mod:`mmadapt.methods.mma_dfer.convert` (the MMA-DFER wing); this path re-exports it."""

# The old submodules load first: importing one later would bind its name on this package, and the modules
# ``from_official`` / ``to_official`` would shadow the functions of the same name.
from . import _build, architecture, directory, from_official, layout, reader, to_official  # noqa: F401

# isort: split
from ..methods.mma_dfer.convert import *  # noqa: F403  (its __all__, listed once there)
from ..methods.mma_dfer.convert import __all__  # noqa: F401
