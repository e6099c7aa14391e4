"""Run under torchrun by test_recipe_distributed.py: trains the stand-in model with 2 gloo processes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
import torch.distributed as dist
from recipe_standin import ClipSet, make_model

from mmadapt.recipe import TrainConfig, evaluate, train
from mmadapt.recipe.distributed import get_dist_info

TRAIN_CLIPS, VAL_CLIPS = 32, 7  # 7 is odd: the 2 evaluation shards are uneven (4 + 3)


def ddp_config(out_dir: str | Path) -> TrainConfig:
    """Global batch 8 (4 per process with 2), shuffled; dropout is off in the model (see the test)."""
    return TrainConfig(
        epochs=2,
        batch_size=8,
        lr=1e-2,
        num_workers=0,
        device="cpu",
        out_dir=str(out_dir),
        log_every=1,
        progress=False,
        shuffle=True,
    )


def main(out_dir: Path) -> None:
    model = make_model(0, dropout=0.0)
    frozen = model.frozen_state()
    result = train(model, ClipSet(TRAIN_CLIPS), ClipSet(VAL_CLIPS, seed=1), ddp_config(out_dir))
    info = get_dist_info()
    assert info.world_size == 2, info
    shard_eval = evaluate(model, ClipSet(VAL_CLIPS, seed=1), batch_size=2)
    if info.is_main:
        torch.save(
            {
                "adapter": model.adapter_state_dict(),
                "frozen_unchanged": all(torch.equal(v, model.frozen_state()[k]) for k, v in frozen.items()),
                "final": result.final,
                "confusion": shard_eval.confusion,
                "eval_loss": shard_eval.loss,
                "num_samples": shard_eval.num_samples,
                "summary_world_size": result.summary["world_size"],
            },
            out_dir / "ddp_result.pt",
        )
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
