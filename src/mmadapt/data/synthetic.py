"""Moved to :mod:`mmadapt.demo.scenes` (the demo wing); this module keeps the old import path working."""

from ..demo.scenes import *  # noqa: F403  (its __all__, listed once there)
from ..demo.scenes import __all__  # noqa: F401
