"""Child process of ``test_save_atomic``'s kill loop: saves adapters A and B alternately into one folder.

Run as ``python save_loop_child.py REF_A REF_B TARGET``. It imports and loads once, prints ``ready``, then for each
line read from stdin forks a worker that saves A, B, A, ... into TARGET until it is killed, and prints the worker's
pid, and ``dead`` once it is reaped. Forking keeps each kill cheap: the parent kills workers, not freshly
started interpreters.
"""

from __future__ import annotations

import os
import sys

import torch
from torch import nn

HEAD = {"dim": 24, "depth": 1, "heads": 2, "dim_head": 12, "mlp_dim": 48, "max_frames": 4}
AUDIO_SIZE, VIDEO_SIZE = (64, 32), (32, 32)


def tiny_pair(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """The issue's reproducer ViTs: (audio, video), width 32, depth 2."""
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(seed)
    kw = dict(patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=0)
    audio = VisionTransformer(img_size=AUDIO_SIZE, in_chans=1, **kw).eval()
    video = VisionTransformer(img_size=VIDEO_SIZE, in_chans=3, **kw).eval()
    return audio, video


def main(ref_a: str, ref_b: str, target: str) -> None:
    import mmadapt

    torch.set_num_threads(1)  # no worker threads alive at fork time
    models = [mmadapt.MultimodalAdapterModel.from_pretrained(ref, *tiny_pair()) for ref in (ref_a, ref_b)]
    print("ready", flush=True)
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:  # worker: save until killed
            try:
                while True:
                    for model in models:
                        model.save_adapter(target)
            finally:
                os._exit(1)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("dead", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
