"""One process of the two-process ``AdapterTrainer`` run (``torchrun``): trains, keeps the best checkpoint, and
writes its adapter and what it saw to ``<out>/rank<r>.pt``. Run by ``test_hf_trainer_ddp.py``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: tests.* importable

from tests.integrations.test_hf_trainer import BATCH, adapter_of, fresh, trainer


def main(out: Path) -> None:
    torch.set_num_threads(1)
    model, a_shape, v_shape = fresh("timm+timm")
    run = trainer(  # per-process batch of one: two processes make the one-process batch of two
        model,
        a_shape,
        v_shape,
        out / "run",
        per_device_train_batch_size=BATCH // 2,
        eval_strategy="steps",
        eval_steps=2,
        load_best_model_at_end=True,
    )
    run.train()
    rank = int(os.environ["RANK"])
    result = {
        "world_size": run.args.world_size,
        "global_step": run.state.global_step,
        "best": run.state.best_model_checkpoint,
        "adapter": adapter_of(model),
    }
    torch.save(result, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
