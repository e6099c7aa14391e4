"""Inside a command, warnings are one line naming the command and third-party progress bars stay off (issue 17
item 7: warning source lines and transformers' "Loading weights" bars leaked into the CLI's output)."""

from __future__ import annotations

import contextlib
import sys
import warnings

from mmadapt.cli import main
from mmadapt.cli._output import command_output


@contextlib.contextmanager
def _shown_on_stderr():
    """Warnings printed as a user's terminal shows them (pytest would record them instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _print_warning
        yield


def _print_warning(message, category, filename, lineno, file=None, line=None):
    """What Python does with a warning outside pytest: its formatwarning's text on stderr."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def test_a_warning_is_one_line_naming_the_command(capsys):
    with _shown_on_stderr():
        with command_output("train"):
            warnings.warn("backbone has RANDOM\n   weights", UserWarning, stacklevel=1)
            warnings.warn("old key", DeprecationWarning, stacklevel=1)
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "mmadapt train: warning: backbone has RANDOM weights",
        "mmadapt train: warning: DeprecationWarning: old key",
    ]


def test_transformers_loads_without_a_progress_bar_inside_a_command(tmp_path, capfd):
    from transformers import ViTConfig, ViTModel
    from transformers.utils import logging as hf_logging

    ViTModel(
        ViTConfig(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            image_size=16,
            patch_size=8,
        )
    ).save_pretrained(tmp_path)
    capfd.readouterr()
    with command_output("predict"):
        ViTModel.from_pretrained(tmp_path)
    assert "Loading weights" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # as it was, after the command


def test_the_python_warning_format_is_restored_after_a_command():
    before = warnings.formatwarning
    with command_output("eval"):
        assert warnings.formatwarning is not before
    assert warnings.formatwarning is before


def test_train_prints_no_warning_source_lines(workspace, tmp_path, capsys):
    with _shown_on_stderr():  # the tiny experiment's backbones have RANDOM weights: a warning
        assert main(["train", "-q", "--config", str(workspace.config), "--out", str(tmp_path / "r")]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err and all(line.startswith("mmadapt train: warning: ") for line in err), err


def test_log_records_read_like_the_commands_warnings():
    import logging

    from mmadapt.cli._output import CommandLogFormatter

    record = logging.LogRecord(
        "mmadapt.recipe.resume_changes",
        logging.WARNING,
        __file__,
        1,
        "resuming with changed settings (applied): %s",
        ("epochs: 3 -> 5",),
        None,
    )
    assert CommandLogFormatter("train").format(record) == (
        "mmadapt train: warning: resuming with changed settings (applied): epochs: 3 -> 5"
    )
    assert CommandLogFormatter("train", with_names=True).format(record).endswith(" [mmadapt.recipe.resume_changes]")


def test_stdout_piped_to_a_file_is_line_buffered_so_lines_arrive_as_printed():
    """`mmadapt demo | tee log` showed nothing for minutes: a pipe is block-buffered unless the command says so."""
    import subprocess

    code = (
        "import sys\n"
        "from mmadapt.cli import main\n"
        "before = sys.stdout.line_buffering\n"
        "main(['info', '--list-presets'])\n"
        "print(before, sys.stdout.line_buffering, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.split()[-2:] == ["False", "True"]


def test_a_reader_that_stops_early_is_no_error():
    """`mmadapt info --presets | head -1` printed "error: [Errno 32] Broken pipe" once head had its line."""
    import subprocess

    done = subprocess.run(
        f"{sys.executable} -m mmadapt.cli info --presets | head -1", shell=True, capture_output=True, text=True
    )
    assert done.stdout.startswith("presets on audio") and done.stdout.count("\n") == 1
    assert "Broken pipe" not in done.stderr and "Traceback" not in done.stderr, done.stderr
