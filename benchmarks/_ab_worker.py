"""Worker of ``bench_ab.py``: builds one checkout's ``mma-dfer`` model and times train steps on request.

Imports mmadapt and ``benchmarks.specs`` from ``--tree`` only (put first on ``sys.path``), so two workers can hold
two versions. Protocol: one JSON line out when ready (``{"version", "trainable"}``), then for each request line
``{"steps": k}`` one line ``{"cpu_ms", "wall_ms"}`` for those k steps; EOF ends it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    for name, kind in (
        ("tree", Path),
        ("backbone", str),
        ("size", int),
        ("frames", int),
        ("batch", int),
        ("threads", int),
        ("seed", int),
    ):
        p.add_argument(f"--{name}", type=kind, required=True)
    args = p.parse_args()
    tree = args.tree.resolve()
    for mod in [m for m in sys.modules if m == "benchmarks" or m.startswith("benchmarks.")]:
        del sys.modules[mod]
    sys.path[:0] = [str(tree / "src"), str(tree)]

    import torch

    import mmadapt
    from benchmarks.specs import SPECS, build_model, make_batch

    if Path(mmadapt.__file__).resolve().parents[1] != tree / "src":
        raise SystemExit(f"imported mmadapt from {mmadapt.__file__}, not from {tree}")
    torch.set_num_threads(args.threads)
    model = build_model(SPECS[args.backbone], args.size, args.frames, seed=args.seed).train()
    video, audio, labels = make_batch(model, args.batch, args.frames, torch.device("cpu"))
    opt = torch.optim.AdamW(list(model.adapter_parameters()), lr=1e-4)
    trainable = sum(p.numel() for p in model.adapter_parameters())

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(video, audio), labels).backward()
        opt.step()

    print(json.dumps({"version": mmadapt.__version__, "trainable": trainable}), flush=True)
    for line in sys.stdin:
        steps = json.loads(line)["steps"]
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(steps):
            step()
        print(
            json.dumps({"cpu_ms": (time.process_time() - c0) * 1e3, "wall_ms": (time.perf_counter() - w0) * 1e3}),
            flush=True,
        )


if __name__ == "__main__":
    main()
