"""The single source of mmadapt's version: the package metadata (pyproject reads it), ``mmadapt.__version__`` and
every version stamp in saved configs, adapters and converted checkpoints."""

__version__ = "0.1.0"
