"""`mmadapt predict VIDEO --timeline` on the demo's run folder writes the three files; misuse is one line."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import pytest

from mmadapt.cli import main
from mmadapt.timeline import window_schedule

from ._media import square_frames, tone, write_av


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_timeline_writes_csv_json_and_png_with_one_row_per_window(demo_run, tmp_path):
    video = write_av(tmp_path / "v.mp4", square_frames(3.0, lambda t: None), tone(3.0, 16_000), 16_000)
    out = tmp_path / "tl"
    argv = ["predict", "--adapter", str(demo_run), str(video), "--timeline", "--window", "1", "--stride", "0.5"]
    code, stdout = _run([*argv, "--no-faces", "--out", str(out)])
    assert code == 0, stdout
    windows = window_schedule(3.0, 1.0, 0.5)
    with (out / "timeline.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["start"]) for r in rows] == [w.start for w in windows]
    assert all(r["top_class"] for r in rows) and all(r["audio_present"] == "true" for r in rows)
    doc = json.loads((out / "timeline.json").read_text())
    assert doc["class_names"] == [c[2:] for c in list(rows[0]) if c.startswith("p_")]
    assert (out / "timeline.png").stat().st_size > 0
    assert f"{len(windows)} windows of 1 s every 0.5 s, {len(windows)} predicted" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "1"], "--window: works only with --timeline"),
        (["--window", "1", "--stride", "0.5"], "--window, --stride: work only with --timeline"),
        (["second.mp4", "--timeline"], "--timeline takes one VIDEO, got 2"),
        (["--timeline", "--stride", "3"], "stride must lie in"),
        (["--timeline", "--top-k", "2"], "--top-k is for the one-clip mode"),
        (["--no-progress"], "--no-progress: works only with --timeline"),
    ],
)
def test_timeline_misuse_is_one_line(demo_run, tmp_path, capsys, extra, message):
    video = write_av(tmp_path / "v.mp4", square_frames(1.0, lambda t: None), tone(1.0, 16_000), 16_000)
    code = main(["predict", "--adapter", str(demo_run), str(video), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(("flags", "shown"), [([], True), (["--no-progress"], False)])
def test_no_progress_turns_the_timeline_bar_off(demo_run, tmp_path, monkeypatch, flags, shown):
    import mmadapt.timeline

    seen = {}

    def stop(adapter, video, cfg, **kwargs):
        seen["progress"] = cfg.progress
        raise SystemExit(0)

    monkeypatch.setattr(mmadapt.timeline, "predict_timeline", stop)
    video = write_av(tmp_path / "v.mp4", square_frames(1.0, lambda t: None), tone(1.0, 16_000), 16_000)
    with pytest.raises(SystemExit):
        main(["predict", "--adapter", str(demo_run), str(video), "--timeline", "--out", str(tmp_path / "o"), *flags])
    assert seen == {"progress": shown}


def _write_cut(path, frames, samples, rate: int):
    """A lossless cut (RGB png frames, 16-bit PCM) that decodes to exactly ``frames`` and ``samples``."""
    import av
    import numpy as np

    from ._media import FPS

    with av.open(str(path), "w", format="mov") as container:
        v = container.add_stream("png", rate=FPS)
        v.height, v.width = frames.shape[1:3]
        v.pix_fmt = "rgb24"
        a = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        for image in frames:
            for packet in v.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in v.encode():
            container.mux(packet)
        pcm = np.rint(samples * 32768).astype(np.int16)[None]  # the decoded floats are s16 / 32768: exact
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in [*a.encode(frame), *a.encode()]:
            container.mux(packet)
    return path


def test_each_timeline_row_equals_mmadapt_predict_on_that_windows_cut(demo_run, tmp_path):
    import numpy as np

    from mmadapt.data import decode_media

    from ._media import FPS

    rate = 16_000
    video = write_av(tmp_path / "v.mp4", square_frames(3.0, lambda t: (int(8 * t), 4)), tone(3.0, rate), rate)
    out = tmp_path / "tl"
    argv = ["predict", "--adapter", str(demo_run), str(video), "--timeline", "--window", "1", "--stride", "0.5"]
    assert _run([*argv, "--no-faces", "--out", str(out)])[0] == 0
    rows = json.loads((out / "timeline.json").read_text())["windows"]
    frames, track = decode_media(video)
    times = np.arange(frames.num_frames) / FPS
    for k in (0, 2, len(rows) - 1):
        start, end = rows[k]["start"], rows[k]["end"]
        inside = (times >= start - 1e-9) & (times < end - 1e-9)
        samples = track.waveform[0, round(start * rate) : round(end * rate)]
        cut = _write_cut(tmp_path / f"cut{k}.mov", frames.frames[inside], samples, rate)
        assert _run(["predict", "--adapter", str(demo_run), str(cut), "--json", str(tmp_path / f"p{k}.json")])[0] == 0
        want = json.loads((tmp_path / f"p{k}.json").read_text())["predictions"][0]["probabilities"]
        got = rows[k]["probabilities"]
        assert list(got) == list(want)
        assert max(abs(got[c] - want[c]) for c in want) <= 1e-5, (k, got, want)
