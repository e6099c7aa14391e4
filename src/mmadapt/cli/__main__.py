"""``python -m mmadapt.cli``."""

import sys

from . import main

sys.exit(main())
