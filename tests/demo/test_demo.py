"""The offline demo runs end to end on a tiny configuration and leaves every artefact it promises."""

from __future__ import annotations

import json

import pytest
import torch

from mmadapt.cli import main
from mmadapt.demo.driver import DemoConfig, demo_model_config, make_backbones, run_demo, run_seed_sweep

TINY = dict(
    n_per_class=4,
    img_size=32,
    num_frames=4,
    audio_frames=64,
    width=32,
    depth=2,
    heads=2,
    pretrain_clips=8,
    pretrain_steps=3,
    epochs=1,
    batch_size=4,
)


def test_demo_runs_and_writes_results(tmp_path):
    torch.manual_seed(0)
    result = run_demo(
        DemoConfig(out_dir=str(tmp_path), presets=("mma-dfer", "mma-dfer-no-fusion"), **TINY), progress=False
    )
    assert set(result.metrics) == {"mma-dfer", "mma-dfer-no-fusion"}
    for m in result.metrics.values():
        assert 0.0 <= m["uar"] <= 1.0 and 0.0 <= m["war"] <= 1.0
    assert (tmp_path / "runs" / "mma-dfer" / "adapter" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "runs" / "mma-dfer" / "confusion_final.png").is_file()
    saved = json.loads((tmp_path / "demo_results.json").read_text())
    assert saved["metrics"] == result.metrics
    probs = [p for _, p in result.prediction["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6


def test_demo_config_keeps_the_presets_ablations():
    cfg = DemoConfig(**TINY)
    audio, video = make_backbones(cfg)
    assert demo_model_config("mma-dfer-no-fusion", audio, video, cfg).fusion is None
    assert demo_model_config("mma-dfer-no-prompts", audio, video, cfg).prompts is None
    full = demo_model_config("mma-dfer", audio, video, cfg)
    assert full.fusion.latent_dim == 16 and full.head.max_frames == cfg.num_frames


def test_demo_cli_help_and_bad_config(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    assert "--ablations" in capsys.readouterr().out
    with pytest.raises(Exception, match="n_per_class"):
        DemoConfig(n_per_class=1)


def test_seed_sweep_aggregates_each_seed(tmp_path):
    cfg = DemoConfig(out_dir=str(tmp_path), presets=("mma-dfer", "mma-dfer-no-temporal"), **TINY)
    sweep = run_seed_sweep(cfg, [0, 1], progress=False)
    assert set(sweep.runs) == {0, 1}
    for preset in cfg.presets:
        uars = [sweep.runs[s].metrics[preset]["uar"] for s in (0, 1)]
        row = sweep.summary[preset]
        assert row["uar"] == uars
        assert row["uar_mean"] == pytest.approx(sum(uars) / 2)
        assert row["uar_std"] == pytest.approx(abs(uars[0] - uars[1]) / 2**0.5)  # sample std of two values
    for seed in (0, 1):  # each seed is a whole demo of its own: own data folder and results
        saved = json.loads((tmp_path / f"seed_{seed}" / "demo_results.json").read_text())
        assert saved["config"]["seed"] == seed
    assert json.loads((tmp_path / "seed_sweep.json").read_text())["summary"] == sweep.summary
    with pytest.raises(Exception, match="distinct seeds"):
        run_seed_sweep(cfg, [1, 1])


def test_demo_cli_seeds_prints_mean_and_std(tmp_path, capsys, monkeypatch):
    from mmadapt.demo import driver as demo_module

    default = demo_module.DemoConfig
    # the CLI builds the demo's default sizes; shrink them (its own flags still win)
    monkeypatch.setattr(demo_module, "DemoConfig", lambda **kw: default(**{**TINY, **kw}))
    assert (
        main(
            [
                "demo",
                "--out",
                str(tmp_path),
                "--seeds",
                "3",
                "4",
                "--epochs",
                "1",
                "--n-per-class",
                "4",
                "--no-progress",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "UAR mean" in out and "mma-dfer" in out
    saved = json.loads((tmp_path / "seed_sweep.json").read_text())
    assert saved["seeds"] == [3, 4] and set(saved["summary"]) == {"mma-dfer"}
    assert f"{saved['summary']['mma-dfer']['uar_mean']:9.3f}" in out
