"""The red-team harness of issue 13 ("nothing lost, nothing silent").

* ``case.py``: a :class:`~tests.redteam.case.Case` (an attack, its issue item, the outcome it must reach) and the
  classifier (clear / ok / intact against raw / silent / lost);
* ``catalogue/``: one generator per area (config values, model inputs, wrap arguments, adapter files, faults,
  training checkpoints, data, command line), which walk the code under attack (every ``ConfigBase`` field, every
  adapter-config entry, every call of every file-system step of a save) rather than list cases by hand;
* ``test_redteam.py``: one parametrised test over the catalogue;
* ``report.py``: ``python -m tests.redteam.report`` prints the totals per area.

Real ``kill -9`` / SIGINT loops are not repeated here: tests/core/test_save_atomic.py (``save_adapter`` killed in a
loop), tests/recipe/test_recipe_resume.py and tests/recipe/test_recipe_damaged_checkpoint.py (interrupted training
resumes bit-identically, damaged checkpoints fall back).
"""
