"""Moved to :mod:`mmadapt.demo.driver` (the demo wing); this module keeps the old import path working."""

from ..demo.driver import *  # noqa: F403  (its __all__, listed once there)
from ..demo.driver import __all__  # noqa: F401
