"""Speed benchmarks of mmadapt: scripts plus result files that name their device (not part of the library)."""
