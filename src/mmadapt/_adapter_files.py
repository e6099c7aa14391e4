"""File names of a saved adapter folder, apart from :mod:`mmadapt.checkpoint` so that the command line can name
them in ``--help`` without importing torch (``checkpoint`` re-exports them)."""

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
